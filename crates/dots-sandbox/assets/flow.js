// Hosted flow page of the local Dots sandbox. It posts the two messages Dots documents to the
// parent window: {height} on load and on every height change, {step, status} after each step.
(function () {
  "use strict";
  var state = JSON.parse(document.getElementById("flow-state").textContent);
  var root = document.documentElement;
  var VARIABLES = [
    "backgroundColor", "primaryTextColor", "secondaryTextColor", "tertiaryTextColor",
    "primaryColor", "tabBackgroundColor", "tabHoverBackgroundColor", "tabBorderColor",
    "tabHoverBorderColor", "buttonBackgroundColor", "buttonTextColor", "buttonHoverTextColor",
    "buttonHoverBackgroundColor", "buttonDisabledBackgroundColor", "buttonDisabledTextColor",
    "inputBackgroundColor", "inputBorderColor", "inputPlaceholderColor", "borderRadius"
  ];
  var TITLES = {
    "compliance": ["Tax information", "Your SSN or TIN, date of birth and address."],
    "id-verification": ["Verify your identity", "A photo of a government ID and a selfie."],
    "background-check": ["Background check", "A check of public criminal records."],
    "manage-payments": ["Payment method", "Connect a US bank account."],
    "manage-payouts": ["Payout methods", "Choose how you get paid."],
    "payout": ["Withdraw", "Send your balance to your payout method."],
    "redirect": ["Continue", "You are about to leave this flow."],
    "pdf-form-fill": ["Fill in the form", "Complete and sign the PDF form."]
  };

  // Flow Styles: ?styles=<url-encoded JSON {theme, variables}>. Anything malformed is ignored.
  try {
    var raw = new URLSearchParams(window.location.search).get("styles");
    if (raw) {
      var config = JSON.parse(raw);
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
    }
  } catch (_ignored) { /* malformed styles never break the page */ }

  function post(message) {
    if (window.parent && window.parent !== window) window.parent.postMessage(message, "*");
  }

  var main = document.getElementById("flow");
  var lastHeight = -1;
  function reportHeight() {
    var height = Math.ceil(main.getBoundingClientRect().height);
    if (height !== lastHeight) {
      lastHeight = height;
      post({ height: height });
    }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function currentStep() {
    for (var i = 0; i < state.steps.length; i++) {
      if (state.completed_steps.indexOf(state.steps[i]) < 0) return state.steps[i];
    }
    return null;
  }

  function render() {
    var rail = document.getElementById("rail");
    var panel = document.getElementById("panel");
    var current = currentStep();
    rail.replaceChildren();
    state.steps.forEach(function (step) {
      var item = el("li", {}, (TITLES[step] || [step])[0]);
      if (state.completed_steps.indexOf(step) >= 0) item.className = "done";
      if (step === current) item.setAttribute("aria-current", "step");
      rail.appendChild(item);
    });
    panel.replaceChildren();
    if (current === null) {
      panel.appendChild(el("h1", {}, "All done"));
      panel.appendChild(el("p", {}, "Every step of this flow is complete."));
      return;
    }
    var title = TITLES[current] || [current, ""];
    panel.appendChild(el("h1", {}, title[0]));
    panel.appendChild(el("p", {}, title[1]));
    var button = el("button", { type: "button", id: "complete-step", "data-step": current }, "Complete step");
    var error = el("p", { class: "error", role: "alert" });
    button.addEventListener("click", function () {
      button.disabled = true;
      error.textContent = "";
      fetch("/flow/" + encodeURIComponent(state.id) + "/steps/" + encodeURIComponent(current) + "/complete", { method: "POST" })
        .then(function (response) {
          if (!response.ok) throw new Error("the sandbox answered " + response.status);
          return response.json();
        })
        .then(function (flow) {
          state.completed_steps = flow.completed_steps;
          post({ step: current, status: "completed" });
          render();
        })
        .catch(function (err) {
          error.textContent = "Could not complete this step: " + err.message;
          button.disabled = false;
        });
    });
    panel.appendChild(button);
    panel.appendChild(error);
  }

  render();
  reportHeight();
  if (window.ResizeObserver) new ResizeObserver(reportHeight).observe(main);
  window.addEventListener("load", reportHeight);
})();
