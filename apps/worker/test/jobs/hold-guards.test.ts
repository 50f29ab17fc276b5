// What the worker checks of a job's hold without reading it (no GetHold): a hold that expires
// before the provider could finish is not started — released at once, the user told they were not
// charged, the provider neither called nor paid; and a hold of another job or user is refused by
// billing at Commit (HOLD_MISMATCH), left untouched, and nothing is delivered.
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { create, toBinary } from "@bufbuild/protobuf";
import { findImage, publishGenerationRequested, publishRaw } from "@billing/events";
import { HoldState } from "@billing/proto/billing/v1/wallet_pb";
import { GenerationRequestedSchema } from "@billing/proto/events/v1/jobs_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GeneratedImage,
  type GenerationInput,
  type ImageProvider,
  LocalProvider,
  startsTooLate,
  startWorker,
  type Worker,
} from "../../src/index.js";
import { startJobsHarness, testLog, waitUntil, type JobsHarness } from "./harness.js";

describe("startsTooLate (pure)", () => {
  const job = (expiresAtMs?: number) =>
    create(GenerationRequestedSchema, {
      jobId: "j",
      operation: "upscale",
      ...(expiresAtMs === undefined ? {} : { holdExpiresAt: timestampFromMs(expiresAtMs) }),
    });
  const deps = { now: () => 1_000_000, expectedJobMs: (op: string) => (op === "upscale" ? 60_000 : 1_000) };
  it("is true when less than the operation's expected duration is left, false otherwise", () => {
    expect(startsTooLate(job(1_000_000 + 59_999), deps)).toBe(true);
    expect(startsTooLate(job(1_000_000 + 60_000), deps)).toBe(false);
    expect(startsTooLate(job(1_000_000 - 1), { now: deps.now })).toBe(true);
    // Without the hold's expiry (an older bot) the worker cannot tell: Commit stays the guard.
    expect(startsTooLate(job(), deps)).toBe(false);
  });
});

/** The local provider, counting its calls per job. */
class CountingProvider implements ImageProvider {
  readonly name = "local";
  readonly inner = new LocalProvider({ generateSize: 16 });
  readonly calls = new Map<string, number>();
  generate(job: GenerationInput, signal: AbortSignal): Promise<GeneratedImage> {
    this.calls.set(job.jobId, (this.calls.get(job.jobId) ?? 0) + 1);
    return this.inner.generate(job, signal);
  }
}

let h: JobsHarness;
let worker: Worker;
const provider = new CountingProvider();

beforeAll(async () => {
  h = await startJobsHarness("worker_expiring", { BILLING_STARTER_FREE_OPERATIONS: "0" });
  worker = await startWorker({
    config: h.workerConfig({ WORKER_EXPECTED_JOB_MS: "20000" }),
    log: testLog,
    provider,
  });
  await worker.ready;
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

async function userWithCredits(userRef: string, credits: bigint): Promise<void> {
  await h.bot.wallet.openAccount({ userRef });
  await h.admin.wallet.grant({
    userRef,
    amountCredits: credits,
    reason: "test",
    idempotencyKey: `grant-${userRef}`,
  });
}

describe("a job whose hold is about to expire", { timeout: 60_000 }, () => {
  it("never reaches the provider: the hold is released and the user is told they were not charged", async () => {
    const user = "telegram:3001";
    await userWithCredits(user, 10n);
    // 5 s left on the hold, 20 s expected for the job.
    const { holdId } = await h.submit({ jobId: "job-3001", userRef: user, holdTimeoutMs: 5_000 });
    const result = await h.waitForResult("job-3001");
    if (result.kind !== "failed") throw new Error(`expected a failure, got ${result.kind}`);
    expect(result.msgId).toBe("job-3001:failed");
    expect(result.event).toMatchObject({ reasonCode: "hold_expired", refunded: true, holdId, userRef: user });
    expect(result.event.reasonMessage).toMatch(/You were not charged/);
    expect(provider.calls.get("job-3001")).toBeUndefined();

    // Released at once (not left to time out), the credits back, nothing stored, one result.
    const { hold } = await h.bot.wallet.getHold({ holdId });
    expect(hold?.state).toBe(HoldState.VOIDED);
    expect(hold?.resolutionReason).toMatch(/^hold_expired: /);
    const balance = await h.admin.wallet.getBalance({ userRef: user });
    expect([balance.creditsAvailable, balance.creditsReserved]).toEqual([10n, 0n]);
    expect(await findImage(h.buckets.results, h.buckets.names.jobResults, "job-3001")).toBeUndefined();
    expect(await h.resultsOf("job-3001")).toHaveLength(1);
    await h.drained();
    expect((await h.admin.wallet.verifyLedger({})).violations).toEqual([]);
  });

  it("runs and charges a job with enough time left on its hold", async () => {
    const user = "telegram:3002";
    await userWithCredits(user, 10n);
    const { holdId } = await h.submit({ jobId: "job-3002", userRef: user, holdTimeoutMs: 60_000 });
    const result = await h.waitForResult("job-3002");
    expect(result).toMatchObject({ kind: "completed", event: { chargedCredits: 10n, creditsAvailable: 0n } });
    expect(provider.calls.get("job-3002")).toBe(1);
    expect((await h.bot.wallet.getHold({ holdId })).hold?.state).toBe(HoldState.POSTED);
  });
});

describe("a job naming a hold that is not its own", { timeout: 60_000 }, () => {
  it("is refused at Commit: the hold is untouched, nothing is charged or delivered", async () => {
    const owner = "telegram:3003";
    await userWithCredits(owner, 20n);
    const { holdId } = await h.submit({ jobId: "job-3003", userRef: owner });
    await h.waitForResult("job-3003");
    // Another user's job pointing at a fresh hold of the owner (a bug or tampering upstream).
    const reserved = await h.bot.wallet.reserve({
      userRef: owner,
      operation: "generate",
      idempotencyKey: "job-3003-second",
      jobId: "job-3003-second",
    });
    const ownersHold = reserved.hold?.holdId ?? "";
    await publishGenerationRequested(
      h.js,
      h.names,
      create(GenerationRequestedSchema, {
        jobId: "job-3004",
        userRef: "telegram:3004",
        operation: "generate",
        holdId: ownersHold,
        prompt: "x",
      }),
    );
    const result = await h.waitForResult("job-3004");
    expect(result).toMatchObject({ kind: "failed", event: { reasonCode: "hold_mismatch", refunded: false } });
    expect((await h.bot.wallet.getHold({ holdId: ownersHold })).hold?.state).toBe(HoldState.PENDING);
    expect(await findImage(h.buckets.results, h.buckets.names.jobResults, "job-3004")).toBeUndefined();
    expect((await h.bot.wallet.getHold({ holdId })).hold?.state).toBe(HoldState.POSTED);
    const balance = await h.admin.wallet.getBalance({ userRef: owner });
    expect([balance.creditsAvailable, balance.creditsReserved]).toEqual([0n, 10n]);

    // The same, under the id of a job that completed: its paid result is not the intruder's to delete.
    const delivered = await findImage(h.buckets.results, h.buckets.names.jobResults, "job-3003");
    expect(delivered).toBeDefined();
    await publishRaw(h.js, {
      subject: h.names.subjects.generationRequested,
      data: toBinary(
        GenerationRequestedSchema,
        create(GenerationRequestedSchema, {
          jobId: "job-3003",
          userRef: "telegram:3004",
          operation: "generate",
          holdId: ownersHold,
          prompt: "x",
        }),
      ),
      msgId: "job-3003#intruder",
      stream: h.names.streams.jobs,
    });
    await waitUntil(async () => (await h.resultsOf("job-3003")).length === 2, "the intruder refused");
    expect((await h.resultsOf("job-3003"))[1]).toMatchObject({
      kind: "failed",
      event: { reasonCode: "hold_mismatch", refunded: false },
    });
    expect(await findImage(h.buckets.results, h.buckets.names.jobResults, "job-3003")).toEqual(delivered);
    expect((await h.bot.wallet.getHold({ holdId: ownersHold })).hold?.state).toBe(HoldState.PENDING);
  });
});
