// Types of dots-sandbox-testing. The frame helpers take anything shaped like Playwright's
// `FrameLocator` or `Frame` (no import of Playwright is needed).

/** What the helpers use of a Playwright locator. */
export interface LocatorLike {
  click(options?: { timeout?: number }): Promise<void>;
  fill(value: string): Promise<void>;
  pressSequentially(text: string, options?: { delay?: number }): Promise<void>;
  check(): Promise<void>;
  selectOption(value: string): Promise<unknown>;
  getAttribute(name: string): Promise<string | null>;
  textContent(): Promise<string | null>;
  count(): Promise<number>;
  waitFor(options?: { state?: "attached" | "detached" | "visible" | "hidden"; timeout?: number }): Promise<void>;
}

/** A Playwright `FrameLocator` or `Frame`: the iframe showing a flow. */
export interface FrameLike {
  locator(selector: string): LocatorLike;
}

/** A step's name as Dots gives it. */
export type StepName =
  | "onboarding" | "compliance" | "id-verification" | "background-check" | "manage-payouts"
  | "manage-payments" | "payout" | "redirect" | "pdf-form-fill" | (string & {});

export const VERIFICATION_CODE: "123456";
export const TIN_MISMATCH: string;
export const TIN_MATCH: string;
export const OFAC_FLAGGED: "Flagged";
export const OFAC_ID_VERIFICATION: "Sanctioned";
export const BACKGROUND_CONSIDER: "Consider";
export const FAILING_PAYPAL: string;

/** How fast a helper acts: ms between keys (0: fill at once), and how long it waits. */
export interface Pace {
  typeDelay?: number;
  timeout?: number;
}

export interface SignInOptions extends Pace {
  /** A US phone number; digits are kept (`(415) 555-0100` is `4155550100`). */
  phone: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  /** Default VERIFICATION_CODE; another is refused. */
  code?: string;
}

/** Field values replacing the defaults of `completeStep`. */
export interface StepData {
  tin?: string;
  date_of_birth?: string;
  line_1?: string;
  city?: string;
  state?: string;
  postcode?: string;
  paypal?: string;
  routing_number?: string;
  account_number?: string;
  full_name?: string;
  signature?: string;
}

export function waitForStep(frame: FrameLike, step: StepName, options?: { timeout?: number }): Promise<void>;
export function currentStep(frame: FrameLike): Promise<string | null>;
export function pageError(frame: FrameLike): Promise<string | null>;
export function signIn(frame: FrameLike, options: SignInOptions): Promise<void>;
export function completeStep(frame: FrameLike, step: StepName, data?: StepData, pace?: Pace): Promise<void>;

/** A Dots API operation the sandbox serves, by its operationId. */
export type Operation =
  | "create-flow" | "get-flow" | "get-flows" | "create-user" | "get-user" | "get-users"
  | "submit-compliance" | "send-verification-token" | "verify" | "get-payout-methods"
  | "add-payout-method" | "create-transfer" | "get-transfer" | "get-transfers";

export type Fault =
  | { fault: "status"; status: number; retry_after?: number }
  | { fault: "latency"; latency_ms: number }
  | { fault: "drop" }
  | { fault: "malformed" }
  | { fault: "replace"; body: unknown; keep_ids?: boolean };

export type FaultRule = Fault & {
  operation?: Operation;
  path?: string;
  method?: string;
  count?: number;
  ratio?: number;
};

export interface HeldWebhook {
  event_type: string;
  payload: Record<string, unknown>;
}

export interface WebhookAttempt {
  msg_id: string;
  event_type: string;
  endpoint: string;
  attempt: number;
  status: number | null;
  error: string | null;
  delivered: boolean;
  payload: Record<string, unknown>;
}

export interface WebhookSettings {
  endpoints: string[];
  retry_delays_ms: number[];
}

/** A Dots transfer or user, as the API gives it. */
export type DotsObject = Record<string, unknown> & { id: string };

export class SandboxControl {
  constructor(origin: string);
  readonly origin: string;
  reset(): Promise<unknown>;
  clock(): Promise<{ now: string; unix: number }>;
  advanceClock(seconds: number): Promise<{ now: string; unix: number }>;
  addFault(rule: FaultRule): Promise<unknown>;
  failNext(operation: Operation, times: number, fault: Fault): Promise<unknown>;
  faults(): Promise<FaultRule[]>;
  clearFaults(): Promise<unknown>;
  holdWebhooks(): Promise<unknown>;
  heldWebhooks(): Promise<HeldWebhook[]>;
  releaseWebhooks(options?: { order?: "as_happened" | "reversed" }): Promise<number>;
  dropHeldWebhooks(): Promise<number>;
  webhookAttempts(): Promise<WebhookAttempt[]>;
  webhooks(): Promise<WebhookSettings>;
  setWebhooks(settings: { endpoints: string[]; secret?: string; retry_delays_ms?: number[] }): Promise<WebhookSettings>;
  transfers(appId?: string): Promise<DotsObject[]>;
  users(appId?: string): Promise<DotsObject[]>;
  requests(): Promise<{ method: string; path: string; request_id: string | null }[]>;
  refillWallet(amount: number, appId?: string): Promise<{ app_id: string; wallet: number }>;
  completeStep(flowId: string, step: StepName): Promise<unknown>;
}
