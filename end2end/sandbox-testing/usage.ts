// What a TypeScript host writes against dots-sandbox-testing, checked by `tsc --strict`: the
// Playwright frames fit the helpers, and each `@ts-expect-error` line must be refused.
import type { Frame, FrameLocator, Page } from "playwright-core";
import { completeStep, SandboxControl, signIn, TIN_MISMATCH } from "dots-sandbox-testing";

export async function journey(page: Page, frame: Frame): Promise<number> {
  const locator: FrameLocator = page.frameLocator("dots-flow >> iframe");
  await signIn(locator, { phone: "4155550100", typeDelay: 40 });
  await completeStep(locator, "compliance", { tin: TIN_MISMATCH });
  await completeStep(frame, "payout", { paypal: "a@example.com" }, { timeout: 5000 });
  const dots = new SandboxControl("http://127.0.0.1:4010");
  await dots.failNext("create-transfer", 2, { fault: "status", status: 502 });
  await dots.addFault({ operation: "get-flow", fault: "latency", latency_ms: 300, ratio: 0.5 });
  const held = await dots.heldWebhooks();
  const first: string | undefined = held[0]?.event_type;
  // @ts-expect-error: the phone is required
  await signIn(locator, {});
  // @ts-expect-error: an operation Dots does not name
  await dots.failNext("create-flows", 1, { fault: "drop" });
  // @ts-expect-error: a status fault needs its status
  await dots.failNext("create-flow", 1, { fault: "status" });
  // @ts-expect-error: release answers how many, not the events
  const events: HeldWebhook[] = await dots.releaseWebhooks({ order: "reversed" });
  return (first?.length ?? 0) + (await dots.transfers()).length;
}

type HeldWebhook = { event_type: string };
