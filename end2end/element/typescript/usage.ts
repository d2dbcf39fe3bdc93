// What a TypeScript user writes against <dots-flow> (dots-flow.d.ts), checked by `tsc`: the
// right uses compile, and each `@ts-expect-error` line must be refused by the typings (tsc fails
// on one that is not).
import type { BrowserFlow, DotsErrorDetail, DotsFlowElement, FlowStatus } from "dots-flow-element";

const flow = document.querySelector("dots-flow"); // typed through HTMLElementTagNameMap
if (flow) {
  const element: DotsFlowElement = flow;
  element.steps = ["compliance", { name: "manage-payouts", hide_continue_button: true }];
  element.steps = [{ name: "payout", payout_fee_party: "user", auto_payout_enabled: false }];
  element.styles = { buttonBackgroundColor: "#7c3aed" };
  element.metadata = { order: 42 };
  element.flow = null;
  const status: FlowStatus = element.status;
  element.addEventListener("dots-step-complete", (event) => {
    const step: string = event.detail.step;
    console.log(step, status);
  });
  element.addEventListener("dots-flow-complete", (event) => {
    const done: BrowserFlow = event.detail.flow;
    console.log(done.completed_steps.length);
  });
  element.addEventListener("dots-error", (event) => {
    const detail: DotsErrorDetail = event.detail;
    console.log(detail.kind, detail.field ?? "", detail.status ?? 0);
  });
  element.retry();

  // @ts-expect-error: a misspelt option
  element.steps = [{ name: "compliance", hide_continue_buton: true }];
  // @ts-expect-error: not a step Dots documents
  element.steps = ["onboarding-ish"];
  // @ts-expect-error: the fee party is `platform` or `user`
  element.steps = [{ name: "payout", payout_fee_party: "app" }];
  // @ts-expect-error: status is read-only (reflected from the component)
  element.status = "ready";
  element.addEventListener("dots-height", (event) => {
    // @ts-expect-error: a height is a number
    const height: string = event.detail.height;
    console.log(height);
  });
}
