// Types of <dots-flow> (dots-flow.js). The element's contract is in dots-flow's README, "Any web page".

/** A step Dots documents; other names are refused by the element (a `dots-error`). */
export type StepName =
  | "compliance" | "id-verification" | "background-check" | "manage-payments"
  | "manage-payouts" | "payout" | "redirect" | "pdf-form-fill";

/** A step with its options (only the options Dots documents for that step are accepted). */
export interface StepObject {
  name: StepName;
  redirect_url?: string;
  template_id?: string;
  hide_continue_button?: boolean;
  require_default_payout_method?: boolean;
  require_auto_payout_method?: boolean;
  auto_payout_enabled?: boolean;
  payout_fee_party?: "platform" | "user";
}

/** A flow as the dots-flow proxy answers it (also what a server passes for an initial flow). */
export interface BrowserFlow {
  id: string;
  link: string;
  steps: string[];
  completed_steps: string[];
  expires_at?: string;
  expires_in?: number;
  events?: string;
}

export type FlowStatus = "loading" | "ready" | "completed" | "expired" | "error";

/** Flow Styles variables by Dots' names, e.g. `{ buttonBackgroundColor: "#7c3aed" }`. */
export type FlowStyles = Record<string, string>;

/**
 * Every text the element shows or announces; English for any left out. In templates `{title}`
 * is the flow's title, `{step}` a step's name (from `steps`), `{message}` the server's or the
 * browser's words.
 */
export interface DotsFlowLabels {
  /** The texts' language (BCP 47), set as the component's `lang`; default: the element's `lang` attribute, else "en". */
  lang?: string;
  /** The frame's title when `frame-title` is not set ("Payout setup"). */
  title?: string;
  loading?: string;
  ready?: string;
  stepCompleted?: string;
  completed?: string;
  expired?: string;
  retry?: string;
  unreachable?: string;
  rejected?: string;
  unreadable?: string;
  invalidLink?: string;
  timeout?: string;
  invalidSteps?: string;
  error?: string;
  /** What each step is called for people. */
  steps?: {
    signIn?: string; compliance?: string; idVerification?: string; backgroundCheck?: string;
    managePayments?: string; managePayouts?: string; payout?: string; redirect?: string;
    pdfFormFill?: string;
  };
}

export interface DotsErrorDetail {
  kind:
    | "invalid-steps" | "backend-unreachable" | "backend-rejected" | "invalid-response"
    | "invalid-link" | "frame-timeout" | "invalid-attribute" | "invalid-property" | "load-failed"
    | string;
  message: string;
  /** The field at fault, e.g. `steps[1].redirect_url` or `styles.fooColor`. */
  field?: string;
  /** The backend's HTTP status. */
  status?: number;
  /** The backend's error code. */
  code?: string;
  /** Dots' own error code, when Dots refused the request. */
  dotsCode?: string;
}

export interface DotsFlowEventMap {
  "dots-ready": CustomEvent<null>;
  "dots-height": CustomEvent<{ height: number }>;
  "dots-step-complete": CustomEvent<{ step: string; status: string }>;
  "dots-flow-complete": CustomEvent<{ flow: BrowserFlow }>;
  "dots-error": CustomEvent<DotsErrorDetail>;
  "dots-expired": CustomEvent<null>;
}

export declare class DotsFlowElement extends HTMLElement {
  /** Steps as names or objects with options (validated as the Rust types are). */
  steps: (StepName | StepObject)[] | undefined;
  /** A flow already created for these steps (restarts the element with it). */
  flow: BrowserFlow | null | undefined;
  /** Flow Styles variables (re-themes the flow). */
  styles: FlowStyles | null | undefined;
  /** Metadata attached to the flow (restarts the element). */
  metadata: unknown;
  /** Every text it shows or announces (a translation); applies at once. */
  labels: DotsFlowLabels | null | undefined;
  /** Reflected as the `status` attribute. */
  readonly status: FlowStatus;
  /** Starts over with a fresh flow. */
  retry(): void;
  addEventListener<K extends keyof DotsFlowEventMap>(
    type: K, listener: (this: DotsFlowElement, ev: DotsFlowEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    "dots-flow": DotsFlowElement;
  }
}
