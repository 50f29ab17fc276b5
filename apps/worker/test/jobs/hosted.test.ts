// The worker with a hosted provider (fal.ai, through the testkit's faithful fake): a content-policy
// refusal reaches the user as a readable reason with the credits back; a success is charged once.
import { HoldState } from "@billing/proto/billing/v1/wallet_pb";
import { type FakeFal, startFakeFal } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FalProvider, startWorker, type Worker } from "../../src/index.js";
import { startJobsHarness, testLog, type JobsHarness } from "./harness.js";

let h: JobsHarness;
let fal: FakeFal;
let worker: Worker;

beforeAll(async () => {
  h = await startJobsHarness("worker_hosted", { BILLING_STARTER_FREE_OPERATIONS: "0" });
  fal = await startFakeFal({ pollsUntilComplete: 1 });
  worker = await startWorker({
    config: h.workerConfig({ WORKER_PROVIDER: "fal", FAL_KEY: fal.apiKey, FAL_BASE_URL: fal.baseUrl }),
    log: testLog,
    // As configured, but polling the fake quickly.
    provider: new FalProvider({ apiKey: fal.apiKey, baseUrl: fal.baseUrl, pollIntervalMs: 20 }),
  });
  await worker.ready;
});
afterAll(async () => {
  await worker?.close();
  await fal?.close();
  await h?.close();
});

describe("a job on a hosted provider", { timeout: 60_000 }, () => {
  it("refused by the content policy: released, 10 credits back, the provider's reason for the user", async () => {
    const user = "telegram:3001";
    await h.bot.wallet.openAccount({ userRef: user });
    await h.admin.wallet.grant({
      userRef: user,
      amountCredits: 10n,
      reason: "test",
      idempotencyKey: "grant-3001",
    });
    fal.failNext("submit", { type: "content_policy" });
    const { holdId } = await h.submit({ jobId: "job-3001", userRef: user });
    const result = await h.waitForResult("job-3001");
    expect(result).toMatchObject({
      kind: "failed",
      event: { reasonCode: "content_rejected", refunded: true },
    });
    expect(result.kind === "failed" ? result.event.reasonMessage : "").toMatch(/content policy/i);
    expect((await h.bot.wallet.getHold({ holdId })).hold?.state).toBe(HoldState.VOIDED);
    const balance = await h.admin.wallet.getBalance({ userRef: user });
    expect([balance.creditsAvailable, balance.creditsReserved]).toEqual([10n, 0n]);
  });

  it("completes with the provider's image, charged once", async () => {
    const user = "telegram:3002";
    await h.bot.wallet.openAccount({ userRef: user });
    await h.admin.wallet.grant({
      userRef: user,
      amountCredits: 15n,
      reason: "test",
      idempotencyKey: "grant-3002",
    });
    const submissions = fal.submissions.length;
    await h.submit({ jobId: "job-3002", userRef: user, prompt: "a lighthouse" });
    const result = await h.waitForResult("job-3002");
    if (result.kind !== "completed") throw new Error(`expected completed, got ${result.kind}`);
    expect(result.event).toMatchObject({ provider: "fal", chargedCredits: 10n, creditsAvailable: 5n });
    expect(fal.submissions.length).toBe(submissions + 1);
    expect(fal.submissions.at(-1)?.input).toMatchObject({ prompt: "a lighthouse" });
  });
});
