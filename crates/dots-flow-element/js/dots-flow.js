// <dots-flow>: dots-flow's component as a custom element (its engine and markup, without
// Leptos). Importing this module loads the wasm and registers the element. The component lives in the element's (open)
// shadow root; its stylesheet is adopted there, so the page's CSS neither breaks it nor needs
// 'unsafe-inline'. See the README's "Any web page" for the contract; dots-flow.d.ts types it.
import init, { DotsFlowCore } from "./dots-flow-core.js"; // bundled in by the build

const CSS = "/*DOTS_FLOW_CSS*/";
const ATTRIBUTES = [
  "steps", "endpoint", "theme", "styles", "min-height", "max-height", "frame-title",
  "credentials", "require-auth", "hide-go-to-dashboard",
];
const PROPERTIES = ["steps", "flow", "styles", "metadata", "labels"];

const ready = init({ module_or_path: new URL("./dots-flow.wasm", import.meta.url) });
let sheet = null;
// The `labels` object as the core reads it: a text or nothing per label, in the order of the
// Rust side's `Label::ALL` (a test checks the two agree).
const LABELS = "lang title loading ready stepCompleted completed expired retry unreachable rejected unreadable invalidLink timeout invalidSteps error steps.signIn steps.compliance steps.idVerification steps.backgroundCheck steps.managePayments steps.managePayouts steps.payout steps.redirect steps.pdfFormFill".split(" ");
function labelTexts(value, prefix = "", texts = []) {
  for (const [key, text] of Object.entries(value ?? {})) {
    const name = prefix + key, i = LABELS.indexOf(name);
    if (name == "steps") labelTexts(text, "steps.", texts);
    else if (i < 0 || typeof text != "string") throw new TypeError(`<dots-flow> labels.${name}: not a string of a known label`);
    else texts[i] = text;
  }
  return texts;
}

function stylesheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(`:host { display: block; }\n${CSS}`);
  }
  return sheet;
}

export class DotsFlowElement extends HTMLElement {
  static observedAttributes = ATTRIBUTES;
  #core = null;
  #container;
  #props = {};
  #restarting = false;

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    root.adoptedStyleSheets = [stylesheet()];
    this.#container = document.createElement("div");
    this.#container.lang = "en"; // the built-in texts'; `labels` may say otherwise
    root.append(this.#container);
  }

  connectedCallback() {
    // Properties set before this module defined the element live on the instance: take them.
    for (const name of PROPERTIES) {
      if (Object.prototype.hasOwnProperty.call(this, name)) {
        const value = this[name];
        delete this[name];
        this.#props[name] = value;
      }
    }
    ready.then(
      () => this.#start(),
      (err) => this.#report("load-failed", `the component could not load: ${err}`),
    );
  }

  disconnectedCallback() {
    // Frees the core: the flow's listeners, timers and event stream go with it.
    this.#core?.free();
    this.#core = null;
  }

  attributeChangedCallback(name, old, value) {
    if (this.#core && old !== value && this.#core.attribute(name, value ?? undefined)) {
      this.#restart();
    }
  }

  #start() {
    if (!this.isConnected || this.#core) return;
    const core = new DotsFlowCore(this, this.#container);
    for (const name of ATTRIBUTES) {
      const value = this.getAttribute(name);
      if (value !== null) core.attribute(name, value);
    }
    for (const [name, value] of Object.entries(this.#props)) {
      try {
        this.#apply(core, name, value);
      } catch (err) {
        this.#report("invalid-property", err.message, name);
      }
    }
    this.#core = core;
    core.start();
  }

  // One restart for however many changes in one task.
  #restart() {
    if (this.#restarting) return;
    this.#restarting = true;
    queueMicrotask(() => {
      this.#restarting = false;
      this.#core?.start();
    });
  }

  // Returns whether the flow must restart (steps that differ from the current ones).
  #apply(core, name, value) {
    if (name === "steps") return core.setSteps(value);
    if (name === "styles") core.setStyles(value);
    else if (name === "flow") core.setFlow(value);
    else if (name === "metadata") core.setMetadata(value);
    else if (name === "labels") {
      core.setLabels(labelTexts(value));
      // The texts' language: the labels' own, else the element's `lang`, else English.
      this.#container.lang = value?.lang || this.lang || "en";
    }
  }

  #set(name, value, restarts) {
    if (this.#core) {
      const changed = this.#apply(this.#core, name, value); // a TypeError names the field
      if (restarts || changed) this.#restart();
    }
    this.#props[name] = value;
  }

  #report(kind, message, field) {
    const detail = field === undefined ? { kind, message } : { kind, message, field };
    this.dispatchEvent(new CustomEvent("dots-error", { bubbles: true, composed: true, detail }));
  }

  get steps() { return this.#props.steps; }
  set steps(value) { this.#set("steps", value, false); }
  get styles() { return this.#props.styles; }
  set styles(value) { this.#set("styles", value, false); }
  get flow() { return this.#props.flow; }
  set flow(value) { this.#set("flow", value, true); }
  get metadata() { return this.#props.metadata; }
  set metadata(value) { this.#set("metadata", value, true); }
  get labels() { return this.#props.labels; }
  set labels(value) { this.#set("labels", value, false); }
  get status() { return this.getAttribute("status") ?? "loading"; }

  /** Starts over with a fresh flow (after an error or expiry). */
  retry() { this.#core?.start(); }
}

if (!customElements.get("dots-flow")) customElements.define("dots-flow", DotsFlowElement);
