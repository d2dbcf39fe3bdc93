// Hosted flow page of the local Dots sandbox: a small real UI for every step kind.
//
// It posts exactly the two messages Dots documents to the parent window:
//   {height: n}              on load and whenever the content height changes (or only on
//                            the first load, with the sandbox's `heights: first-load`);
//   {step: name, status: s}  after each step ("completed", or "completed-saved" for a
//                            manage-payouts step saved without changes).
(function () {
  "use strict";

  var state = JSON.parse(document.getElementById("flow-state").textContent);
  // Given to a page opened while its link worked: keeps this page working past the expiry.
  var pageSession = state.page_session || null;
  var root = document.documentElement;
  var VARIABLES = [
    "backgroundColor", "primaryTextColor", "secondaryTextColor", "tertiaryTextColor",
    "primaryColor", "tabBackgroundColor", "tabHoverBackgroundColor", "tabBorderColor",
    "tabHoverBorderColor", "buttonBackgroundColor", "buttonTextColor", "buttonHoverTextColor",
    "buttonHoverBackgroundColor", "buttonDisabledBackgroundColor", "buttonDisabledTextColor",
    "inputBackgroundColor", "inputBorderColor", "inputPlaceholderColor", "borderRadius"
  ];
  var TITLES = {
    "onboarding": "Sign in",
    "compliance": "Tax information",
    "id-verification": "Verify your identity",
    "background-check": "Background check",
    "manage-payments": "Payment method",
    "manage-payouts": "Payout methods",
    "payout": "Withdraw",
    "redirect": "Continue",
    "pdf-form-fill": "Fill in the form"
  };

  // ---- Flow Styles: ?styles=<url-encoded JSON {theme, variables}>; malformed input is ignored.
  try {
    var raw = new URLSearchParams(window.location.search).get("styles");
    var config = raw ? JSON.parse(raw) : null;
    if (config && typeof config === "object") {
      if (config.theme === "dark" || config.theme === "light") root.setAttribute("data-theme", config.theme);
      var vars = config.variables;
      if (vars && typeof vars === "object") {
        VARIABLES.forEach(function (name) {
          var value = vars[name];
          var property = name === "borderRadius" ? "border-radius" : "color";
          if (typeof value === "string" && value !== "" && CSS.supports(property, value)) {
            root.style.setProperty("--dots-" + name, value);
          }
        });
      }
    }
  } catch (_ignored) { /* malformed styles never break the page */ }

  // ---- Messages to the parent.
  function post(message) {
    if (window.parent && window.parent !== window) window.parent.postMessage(message, "*");
  }
  var main = document.getElementById("flow");
  var lastHeight = -1;
  function reportHeight() {
    // "first-load": the height is posted once, when the flow first loads (as Dots' guide
    // words it); later pages may be taller or shorter and the parent is not told.
    if (lastHeight !== -1 && typeof state === "object" && state && state.heights === "first-load") return;
    var height = Math.ceil(main.getBoundingClientRect().height);
    if (height !== lastHeight) {
      lastHeight = height;
      post({ height: height });
    }
  }

  // ---- Small DOM helpers.
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === false || value === null || value === undefined) return;
      if (key === "text") node.textContent = value;
      else if (key === "on") Object.keys(value).forEach(function (ev) { node.addEventListener(ev, value[ev]); });
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function field(label, attrs) {
    return el("label", {}, [document.createTextNode(label), el("input", attrs)]);
  }
  function money(cents) {
    return "$" + (cents / 100).toFixed(2);
  }

  // ---- Calls to the sandbox.
  function api(path, body) {
    return fetch("/flow/" + encodeURIComponent(state.id) + path, {
      method: body === undefined ? "GET" : "POST",
      headers: pageSession ? { "content-type": "application/json", "x-sandbox-page-session": pageSession } : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) {
          var error = new Error(json.message || "the sandbox answered " + response.status);
          error.status = response.status;
          throw error;
        }
        return json;
      });
    });
  }

  var ui = { onboarding: "phone", error: "", busy: false, selectedDefault: null };

  function stepNames() { return state.steps.map(function (s) { return s.name; }); }
  function optionsOf(name) {
    return state.steps.filter(function (s) { return s.name === name; })[0] || {};
  }
  function currentStep() {
    if (state.expired) return "expired";
    if (!state.signed_in) return "onboarding";
    var names = stepNames();
    for (var i = 0; i < names.length; i++) {
      if (state.completed_steps.indexOf(names[i]) < 0) return names[i];
      // A done step whose continue button is hidden keeps the user on it: the app moves on.
      if (optionsOf(names[i]).hide_continue_button === true) return names[i];
    }
    return null;
  }

  // What a person typed survives a refusal (see `render`), and the field the server named is
  // marked and worded for a person (a date picker's user never typed YYYY-MM-DD).
  function entryKey(input) {
    var kind = input.type === "checkbox" || input.type === "radio" ? "/" + input.value : "";
    return (input.form ? input.form.id : "") + "/" + input.name + kind;
  }
  function keepEntries() {
    var kept = {};
    document.querySelectorAll("#panel input, #panel select").forEach(function (input) {
      if (!input.name) return;
      kept[entryKey(input)] = input.type === "checkbox" || input.type === "radio" ? input.checked : input.value;
    });
    return kept;
  }
  function restoreEntries(kept) {
    document.querySelectorAll("#panel input, #panel select").forEach(function (input) {
      var key = entryKey(input);
      if (!(key in kept)) return;
      if (input.type === "checkbox" || input.type === "radio") input.checked = kept[key];
      else input.value = kept[key];
    });
  }
  function fail(err) {
    ui.busy = false;
    if (err && err.status === 410) state.expired = true;
    var message = err && err.message ? err.message : String(err);
    var named = /^([A-Za-z0-9_.\[\]]+): (.*)$/.exec(message);
    var invalid = null;
    if (named) {
      var name = named[1].split(".").pop();
      invalid = document.querySelector('#panel [name="' + name + '"]');
      if (invalid) {
        var label = invalid.parentNode.firstChild.textContent;
        message = label + ": " + (invalid.type === "date" ? "enter a valid date (day, month and year)" : named[2]);
        invalid = name;
      }
    }
    ui.error = message;
    render();
    if (invalid) {
      var field = document.querySelector('#panel [name="' + invalid + '"]');
      if (field) { field.setAttribute("aria-invalid", "true"); field.focus(); }
    }
  }

  // Completes `step` with `body` and posts the documented message.
  function complete(step, body) {
    ui.busy = true;
    ui.error = "";
    render();
    return api("/steps/" + encodeURIComponent(step) + "/complete", body || {}).then(function (answer) {
      ui.busy = false;
      state = answer.session;
      post({ step: step, status: answer.status });
      render();
      return answer;
    }, fail);
  }

  function submitForm(handler) {
    return function (event) {
      event.preventDefault();
      if (ui.busy) return;
      handler(event.target);
    };
  }

  function primary(text, attrs) {
    return el("button", Object.assign({ type: "submit", id: "complete-step", text: text, disabled: ui.busy }, attrs || {}));
  }

  // ---- One renderer per step kind.
  var RENDER = {
    expired: function () {
      return [el("h1", { text: "This link has expired" }),
        el("p", { text: "Ask the app for a new link to continue." })];
    },

    onboarding: function () {
      if (ui.onboarding === "phone") {
        return [el("h1", { text: "Sign in" }),
          el("p", { text: "We'll text you a code to confirm your phone number." }),
          el("form", { id: "onboarding-form", on: { submit: submitForm(function (form) {
            var data = Object.fromEntries(new FormData(form));
            ui.busy = true; render();
            api("/onboarding/start", data).then(function () {
              ui.busy = false; ui.error = ""; ui.onboarding = "code"; render();
            }, fail);
          }) } }, [
            el("div", { class: "row" }, [
              field("First name", { name: "first_name", required: true, autocomplete: "given-name", maxlength: 50 }),
              field("Last name", { name: "last_name", required: true, autocomplete: "family-name", maxlength: 50 })
            ]),
            field("Email", { name: "email", type: "email", required: true, autocomplete: "email" }),
            el("div", { class: "row" }, [
              field("Country code", { name: "country_code", value: "1", required: true, pattern: "[0-9]{1,3}", inputmode: "numeric" }),
              field("Phone number", { name: "phone_number", required: true, pattern: "[0-9]{1,20}", inputmode: "numeric", autocomplete: "tel-national" })
            ]),
            el("button", { type: "submit", id: "send-code", text: "Send code", disabled: ui.busy })
          ])];
      }
      return [el("h1", { text: "Enter your code" }),
        el("p", { class: "hint", text: "The sandbox sends no text message: its code is always 123456." }),
        el("form", { id: "verify-form", on: { submit: submitForm(function (form) {
          ui.busy = true; render();
          api("/onboarding/verify", { code: form.code.value }).then(function (session) {
            ui.busy = false; ui.error = ""; state = session; render();
            // The sign-in step is done, under the name(s) this Dots calls it.
            (state.sign_in_posts || []).forEach(function (name) { post({ step: name, status: "completed" }); });
          }, fail);
        }) } }, [
          field("Verification code", { name: "code", required: true, minlength: 6, maxlength: 6, inputmode: "numeric", autocomplete: "one-time-code" }),
          el("button", { type: "submit", id: "verify-code", text: "Verify", disabled: ui.busy })
        ])];
    },

    compliance: function () {
      var user = state.user || {};
      return [el("h1", { text: "Tax information" }),
        el("p", { text: "Needed for US tax reporting (W-9)." }),
        el("form", { id: "compliance-form", on: { submit: submitForm(function (form) {
          var d = Object.fromEntries(new FormData(form));
          complete("compliance", { w9: {
            entity_type: "individual", first_name: user.first_name, last_name: user.last_name,
            date_of_birth: d.date_of_birth, tin: d.tin.replace(/\D/g, ""),
            address: { line_1: d.line_1, line_2: d.line_2 || undefined, city: d.city, state: d.state, postcode: d.postcode, country: "US" }
          } });
        }) } }, [
          el("div", { class: "row" }, [
            field("SSN or TIN", { name: "tin", required: true, pattern: "[0-9]{3}-?[0-9]{2}-?[0-9]{4}", inputmode: "numeric", placeholder: "123-45-6789" }),
            field("Date of birth", { name: "date_of_birth", type: "date", required: true })
          ]),
          field("Address", { name: "line_1", required: true, autocomplete: "address-line1" }),
          field("Apartment, suite (optional)", { name: "line_2", autocomplete: "address-line2" }),
          el("div", { class: "row" }, [
            field("City", { name: "city", required: true, autocomplete: "address-level2" }),
            field("State", { name: "state", required: true, pattern: "[A-Za-z]{2}", maxlength: 2, placeholder: "CA" }),
            field("ZIP", { name: "postcode", required: true, pattern: "[0-9]{5}", inputmode: "numeric" })
          ]),
          primary("Save tax information")
        ])];
    },

    "id-verification": function () {
      var canUseCamera = false;
      try {
        var policy = document.permissionsPolicy || document.featurePolicy;
        canUseCamera = !!(policy && policy.allowsFeature("camera") && navigator.mediaDevices);
      } catch (_e) { canUseCamera = false; }
      var doc = ui.document;
      var children = [el("h1", { text: "Verify your identity" }),
        el("p", { text: "A photo of a government ID, then a selfie. The sandbox simulates both." }),
        el("p", { class: "hint", id: "document-status", text: doc ? "ID added: " + doc : "No ID added yet." }),
        el("div", { class: "actions" }, [
          el("button", { type: "button", class: "secondary", id: "use-sample-id", text: "Use a sample ID",
            on: { click: function () { ui.document = "sample-id"; render(); } } }),
          canUseCamera ? el("button", { type: "button", class: "secondary", id: "use-camera", text: "Use camera",
            on: { click: function () {
              navigator.mediaDevices.getUserMedia({ video: true }).then(function (stream) {
                stream.getTracks().forEach(function (t) { t.stop(); });
                ui.document = "camera"; render();
              }, function () { ui.error = "The camera is not available; use the sample ID."; render(); });
            } } }) : null
        ]),
        el("form", { on: { submit: submitForm(function () { complete("id-verification", { document: ui.document }); }) } },
          [primary("Submit", { disabled: ui.busy || !doc })])];
      return children;
    },

    "background-check": function () {
      return [el("h1", { text: "Background check" }),
        el("p", { text: "A check of public criminal and sex-offender records (US, 18+)." }),
        el("form", { on: { submit: submitForm(function (form) { complete("background-check", { consent: form.consent.checked }); }) } }, [
          el("label", { class: "check" }, [el("input", { type: "checkbox", name: "consent", required: true }),
            document.createTextNode("I consent to a background check")]),
          primary("Run the check")
        ])];
    },

    "manage-payouts": function () {
      var user = state.user || {};
      var options = optionsOf("manage-payouts");
      var methods = user.payout_methods || [];
      var hide = options.hide_continue_button === true;
      var chosen = ui.selectedDefault || user.default_payout_method;
      var list = el("ul", { class: "methods", id: "payout-methods" }, methods.map(function (m) {
        return el("li", {}, [
          el("input", { type: "radio", name: "default", value: m.platform, checked: m.platform === chosen,
            "aria-label": "Default: " + m.platform,
            on: { change: function () {
              ui.selectedDefault = m.platform;
              if (hide) complete("manage-payouts", { default_payout_method: m.platform });
            } } }),
          el("span", { text: m.platform + " · " + (m.email || m.phone_number || m.description || m.cash_tag || "") }),
          m.platform === user.default_payout_method ? el("span", { class: "default", text: "Default" }) : null
        ]);
      }));
      var platform = ui.platform || "paypal";
      var fields = {
        paypal: [field("PayPal email", { name: "email", type: "email", required: true })],
        venmo: [field("Venmo phone number", { name: "phone_number", required: true, pattern: "[0-9]{10}", inputmode: "numeric" })],
        ach: [el("div", { class: "row" }, [
          field("Routing number", { name: "routing_number", required: true, pattern: "[0-9]{9}", inputmode: "numeric" }),
          field("Account number", { name: "account_number", required: true, pattern: "[0-9]{4,17}", inputmode: "numeric" })
        ]), el("label", {}, [document.createTextNode("Account type"), el("select", { name: "account_type" }, [
          el("option", { value: "checking", text: "Checking" }), el("option", { value: "savings", text: "Savings" })])])]
      }[platform];
      var add = el("form", { id: "add-method-form", on: { submit: submitForm(function (form) {
        var body = Object.fromEntries(new FormData(form));
        body.platform = platform;
        ui.busy = true; render();
        api("/payout-methods", body).then(function (session) {
          ui.busy = false; ui.error = ""; state = session; ui.selectedDefault = null;
          if (hide) complete("manage-payouts", {}); else render();
        }, fail);
      }) } }, [
        el("label", {}, [document.createTextNode("Add a payout method"), el("select", { id: "platform", name: "platform_choice",
          on: { change: function (e) { ui.platform = e.target.value; render(); } } },
          ["paypal", "venmo", "ach"].map(function (p) { return el("option", { value: p, text: p === "ach" ? "Bank account (ACH)" : p[0].toUpperCase() + p.slice(1), selected: p === platform }); }))]),
        el("div", {}, fields),
        el("button", { type: "submit", class: "secondary", id: "add-method", text: "Add", disabled: ui.busy })
      ]);
      var save = hide ? null : el("form", { on: { submit: submitForm(function () {
        complete("manage-payouts", chosen ? { default_payout_method: chosen } : {});
      }) } }, [primary("Save")]);
      return [el("h1", { text: "Payout methods" }),
        el("p", { text: methods.length ? "Choose your default, or add another." : "Add a way to get paid." }),
        list, add, save];
    },

    "manage-payments": function () {
      return [el("h1", { text: "Payment method" }),
        el("p", { text: "Connect a US bank account for payments to the app." }),
        el("form", { on: { submit: submitForm(function (form) {
          var d = Object.fromEntries(new FormData(form));
          d.platform = "ach";
          complete("manage-payments", d);
        }) } }, [
          el("div", { class: "row" }, [
            field("Routing number", { name: "routing_number", required: true, pattern: "[0-9]{9}", inputmode: "numeric" }),
            field("Account number", { name: "account_number", required: true, pattern: "[0-9]{4,17}", inputmode: "numeric" })
          ]),
          el("label", {}, [document.createTextNode("Account type"), el("select", { name: "account_type" }, [
            el("option", { value: "checking", text: "Checking" }), el("option", { value: "savings", text: "Savings" })])]),
          primary("Connect account")
        ])];
    },

    payout: function () {
      var user = state.user || {};
      var balance = (user.wallet && user.wallet.amount) || 0;
      var method = user.default_payout_method;
      var children = [el("h1", { text: "Withdraw" }),
        el("p", { class: "balance", id: "wallet-balance", text: money(balance) }),
        el("p", { text: method ? "To your " + method + " account." : "Add a payout method to withdraw." })];
      if (!method) {
        children.push(el("form", { id: "add-method-form", on: { submit: submitForm(function (form) {
          ui.busy = true; render();
          api("/payout-methods", { platform: "paypal", email: form.email.value }).then(function (session) {
            ui.busy = false; ui.error = ""; state = session; render();
          }, fail);
        }) } }, [field("PayPal email", { name: "email", type: "email", required: true }),
          el("button", { type: "submit", class: "secondary", id: "add-method", text: "Add PayPal", disabled: ui.busy })]));
      }
      children.push(el("form", { on: { submit: submitForm(function () { complete("payout", {}); }) } },
        [primary("Withdraw " + money(balance), { disabled: ui.busy || !method || balance <= 0 })]));
      return children;
    },

    redirect: function () {
      var url = optionsOf("redirect").redirect_url || "";
      var safe = /^https?:\/\//i.test(url);
      return [el("h1", { text: "Continue" }),
        el("p", { text: safe ? "You will continue at " + new URL(url).host + "." : "There is nowhere to continue to." }),
        el("form", { on: { submit: submitForm(function () {
          complete("redirect", {}).then(function (answer) {
            // Without a continue button the user stays; the app decides where to go.
            if (answer && safe && optionsOf("redirect").hide_continue_button !== true) {
              // A moment for the parent to handle the {step, status} message just posted:
              // navigating the top window at once can unload it before that task runs.
              setTimeout(function () {
                try { window.top.location.href = url; } catch (_e) { window.location.href = url; }
              }, 150);
            }
          });
        }) } }, [primary("Continue")])];
    },

    "pdf-form-fill": function () {
      var template = optionsOf("pdf-form-fill").template_id || "";
      return [el("h1", { text: "Fill in the form" }),
        el("p", { text: "Form template " + template + "." }),
        el("form", { on: { submit: submitForm(function (form) { complete("pdf-form-fill", { signature: form.signature.value }); }) } }, [
          field("Full legal name", { name: "full_name", required: true }),
          field("Signature (type your name)", { name: "signature", required: true }),
          primary("Sign and submit")
        ])];
    },

    done: function () {
      return [el("h1", { text: "All done" }),
        el("p", { class: "done-badge", text: "Every step of this flow is complete." }),
        state.hide_dashboard ? null : el("p", { class: "dashboard", text: "Go to dashboard" })];
    }
  };

  function stepDone() {
    var name = currentStep();
    return [el("h1", { text: TITLES[name] || name }),
      el("p", { class: "done-badge", id: "step-done", text: "This step is done." })];
  }

  function render() {
    var current = currentStep();
    var rail = document.getElementById("rail");
    var names = (state.signed_in ? [] : ["onboarding"]).concat(stepNames());
    rail.replaceChildren.apply(rail, names.map(function (name) {
      var done = name === "onboarding" ? state.signed_in : state.completed_steps.indexOf(name) >= 0;
      return el("li", { class: done ? "done" : null, "aria-current": name === current ? "step" : null,
        "data-step": name, text: TITLES[name] || name });
    }));
    var panel = document.getElementById("panel");
    var finished = current !== null && state.completed_steps.indexOf(current) >= 0;
    // manage-payouts stays editable (embedded settings); any other finished step that stays
    // shows that it is done and offers no way on.
    var renderer = (finished && current !== "manage-payouts") ? stepDone : RENDER[current === null ? "done" : current] || function () {
      return [el("h1", { text: current }), el("form", { on: { submit: submitForm(function () { complete(current, {}); }) } }, [primary("Continue")])];
    };
    // The same screen drawn again while a submission is in flight or was refused keeps what
    // the person typed; a screen drawn after a success starts fresh.
    var same = panel.getAttribute("data-step") === (current === null ? "done" : current);
    var kept = same && (ui.busy || ui.error) ? keepEntries() : null;
    var children = renderer();
    if (ui.error) children.push(el("p", { class: "error", role: "alert", id: "error", text: ui.error }));
    panel.replaceChildren.apply(panel, children.filter(Boolean));
    if (kept) restoreEntries(kept);
    panel.setAttribute("data-step", current === null ? "done" : current);
    reportHeight();
  }

  render();
  if (window.ResizeObserver) new ResizeObserver(reportHeight).observe(main);
  window.addEventListener("load", reportHeight);
})();
