// The worker in this process (its provider scripted), against the real billing app as a process and
// real NATS: what users are charged, what they receive, and what the ledger holds afterwards.
import { create, toBinary } from "@bufbuild/protobuf";
import { errorReason } from "@billing/client";
import { findImage, publishGenerationRequested, publishRaw, readImage } from "@billing/events";
import { FundingSource, HoldState } from "@billing/proto/billing/v1/wallet_pb";
import { GenerationRequestedSchema } from "@billing/proto/events/v1/jobs_pb";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GeneratedImage,
  type GenerationInput,
  type ImageProvider,
  LocalProvider,
  startWorker,
  type Worker,
} from "../../src/index.js";
import { sleep, startJobsHarness, testLog, waitUntil, type JobsHarness } from "./harness.js";
import { solidPng } from "../providers/fixtures.js";

/** The local provider, with calls counted per job and a per-job delay (a slow hosted provider). */
class ScriptedProvider implements ImageProvider {
  readonly name = "local";
  readonly inner = new LocalProvider({ generateSize: 64 });
  readonly calls = new Map<string, number>();
  readonly slow = new Map<string, number>();
  async generate(job: GenerationInput, signal: AbortSignal): Promise<GeneratedImage> {
    this.calls.set(job.jobId, (this.calls.get(job.jobId) ?? 0) + 1);
    const delayMs = this.slow.get(job.jobId);
    if (delayMs !== undefined) await sleep(delayMs);
    return this.inner.generate(job, signal);
  }
}

let h: JobsHarness;
let worker: Worker;
const provider = new ScriptedProvider();

beforeAll(async () => {
  h = await startJobsHarness("worker_jobs", { BILLING_STARTER_FREE_OPERATIONS: "1" });
  worker = await startWorker({
    // No expected duration: every job is started, so Commit's own guard of an expired hold is seen
    // here (skipping a job that cannot finish in time has its own tests in expiring-hold.test.ts).
    config: h.workerConfig({ WORKER_MAX_DELIVER: "3", WORKER_EXPECTED_JOB_MS: "0" }),
    log: testLog,
    provider,
    retryBaseMs: 50,
  });
  await worker.ready;
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

async function jobsTotal(outcome: string): Promise<number> {
  const metric = await worker.registry.getSingleMetric("worker_jobs_total")?.get();
  return metric?.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

async function balanceOf(userRef: string) {
  const b = await h.admin.wallet.getBalance({ userRef });
  return {
    credits: b.creditsAvailable,
    creditsReserved: b.creditsReserved,
    free: b.freeOperationsAvailable,
    freeReserved: b.freeOperationsReserved,
  };
}

const holdOf = async (holdId: string) => (await h.bot.wallet.getHold({ holdId })).hold;

describe("a generation job", { timeout: 60_000 }, () => {
  it("completes: the hold is committed once, the image is in the object store, the balance is exact", async () => {
    const user = "telegram:1001";
    await h.bot.wallet.openAccount({ userRef: user });
    await h.admin.wallet.grant({
      userRef: user,
      amountCredits: 25n,
      reason: "test",
      idempotencyKey: "grant-1001",
    });

    // The first job is paid by the starter free operation, the second by credits.
    const first = await h.submit({ jobId: "job-1001-a", userRef: user });
    const a = await h.waitForResult("job-1001-a");
    const second = await h.submit({ jobId: "job-1001-b", userRef: user, prompt: "a dog" });
    const b = await h.waitForResult("job-1001-b");

    if (a.kind !== "completed" || b.kind !== "completed") throw new Error("expected two completed jobs");
    expect(a.msgId).toBe("job-1001-a:completed");
    expect(a.event).toMatchObject({
      holdId: first.holdId,
      userRef: user,
      operation: "generate",
      chargedCredits: 0n,
      chargedFreeOperations: 1n,
      creditsAvailable: 25n,
      freeOperationsAvailable: 0n,
      chatId: 42n,
      locale: "en",
      provider: "local",
    });
    expect(b.event).toMatchObject({
      holdId: second.holdId,
      chargedCredits: 10n,
      chargedFreeOperations: 0n,
      creditsAvailable: 15n,
    });
    expect(await balanceOf(user)).toEqual({ credits: 15n, creditsReserved: 0n, free: 0n, freeReserved: 0n });
    expect(await holdOf(first.holdId)).toMatchObject({
      state: HoldState.POSTED,
      fundedBy: FundingSource.FREE_OPERATION,
      postedAmount: 1n,
    });
    expect(await holdOf(second.holdId)).toMatchObject({
      state: HoldState.POSTED,
      fundedBy: FundingSource.CREDITS,
      postedAmount: 10n,
    });

    // The result is a real picture, stored under the job id, matching its reference.
    const ref = b.event.result;
    expect(ref).toMatchObject({
      bucket: h.buckets.names.jobResults,
      objectName: "job-1001-b",
      mimeType: "image/png",
    });
    if (ref === undefined) throw new Error("a completed job without a result");
    const bytes = await readImage(h.buckets.results, ref);
    const png = PNG.sync.read(Buffer.from(bytes));
    expect([png.width, png.height]).toEqual([64, 64]);

    expect(await h.resultsOf("job-1001-a")).toHaveLength(1);
    expect(await h.resultsOf("job-1001-b")).toHaveLength(1);
    await h.drained();
    const verified = await h.admin.wallet.verifyLedger({});
    expect(verified.violations).toEqual([]);
  });

  it("fails for good on a terminal provider error: released, credits back, a reason the user can read", async () => {
    const user = "telegram:1002";
    await h.bot.wallet.openAccount({ userRef: user });
    await h.admin.wallet.grant({
      userRef: user,
      amountCredits: 10n,
      reason: "test",
      idempotencyKey: "grant-1002",
    });
    await h.submit({ jobId: "job-1002-free", userRef: user }); // spends the free operation
    await h.waitForResult("job-1002-free");
    expect(await balanceOf(user)).toMatchObject({ credits: 10n, free: 0n });

    provider.inner.failNext("terminal");
    const { holdId } = await h.submit({ jobId: "job-1002", userRef: user });
    const result = await h.waitForResult("job-1002");
    if (result.kind !== "failed") throw new Error(`expected a failure, got ${result.kind}`);
    expect(result.msgId).toBe("job-1002:failed");
    expect(result.event).toMatchObject({
      reasonCode: "content_rejected",
      refunded: true,
      holdId,
      userRef: user,
    });
    expect(result.event.reasonMessage).toMatch(/declined by the content policy/);
    expect(await balanceOf(user)).toEqual({ credits: 10n, creditsReserved: 0n, free: 0n, freeReserved: 0n });
    const hold = await holdOf(holdId);
    expect(hold?.state).toBe(HoldState.VOIDED);
    expect(hold?.resolutionReason).toMatch(/^content_rejected: /);
    // The event says what went back, so the bot need not ask billing.
    expect(hold?.amountCredits).toBeGreaterThan(0n);
    expect(result.event.returned).toMatchObject({ credits: hold?.amountCredits, freeOperations: 0n });
    expect(await findImage(h.buckets.results, h.buckets.names.jobResults, "job-1002")).toBeUndefined();
    expect(provider.calls.get("job-1002")).toBe(1);
    expect(await h.resultsOf("job-1002")).toHaveLength(1);
  });

  it("retries a transient provider error and then charges once", async () => {
    const user = "telegram:1003";
    const retriesBefore = await jobsTotal("retry");
    provider.inner.failNext("transient");
    const { holdId } = await h.submit({ jobId: "job-1003", userRef: user });
    const result = await h.waitForResult("job-1003");
    expect(result.kind).toBe("completed");
    expect(provider.calls.get("job-1003")).toBe(2);
    expect(await jobsTotal("retry")).toBe(retriesBefore + 1);
    expect(await holdOf(holdId)).toMatchObject({ state: HoldState.POSTED, postedAmount: 1n });
    expect(await balanceOf(user)).toEqual({ credits: 0n, creditsReserved: 0n, free: 0n, freeReserved: 0n });
    expect(await h.resultsOf("job-1003")).toHaveLength(1);
  });

  it("gives up on the last delivery of a transient error: released and refunded, not left to expire", async () => {
    const user = "telegram:1004";
    provider.inner.failNext({ code: "rate_limited" }, 3);
    const { holdId } = await h.submit({ jobId: "job-1004", userRef: user });
    const result = await h.waitForResult("job-1004");
    if (result.kind !== "failed") throw new Error(`expected a failure, got ${result.kind}`);
    expect(result.event).toMatchObject({ reasonCode: "rate_limited", refunded: true });
    expect(result.event.returned).toMatchObject({ credits: 0n, freeOperations: 1n });
    expect(result.event.reasonMessage).toMatch(/busy right now/);
    expect(provider.calls.get("job-1004")).toBe(3);
    expect((await holdOf(holdId))?.state).toBe(HoldState.VOIDED);
    expect(await balanceOf(user)).toMatchObject({ free: 1n, freeReserved: 0n });
    expect(await h.deadLetters()).toEqual([]);
  });

  it("runs a job published twice (same Nats-Msg-Id) once", async () => {
    const user = "telegram:1005";
    const { holdId } = await h.submit({ jobId: "job-1005", userRef: user });
    const again = await publishGenerationRequested(
      h.js,
      h.names,
      create(GenerationRequestedSchema, {
        jobId: "job-1005",
        userRef: user,
        operation: "generate",
        holdId,
        prompt: "x",
      }),
    );
    expect(again.duplicate).toBe(true);
    await h.waitForResult("job-1005");
    await sleep(500);
    expect(provider.calls.get("job-1005")).toBe(1);
    expect(await h.resultsOf("job-1005")).toHaveLength(1);
    expect(await balanceOf(user)).toMatchObject({ free: 0n, freeReserved: 0n });
  });

  it("answers a replayed job after completion from the stored result: no second commit, no second result", async () => {
    const user = "telegram:1006";
    await h.bot.wallet.openAccount({ userRef: user });
    await h.admin.wallet.grant({
      userRef: user,
      amountCredits: 30n,
      reason: "test",
      idempotencyKey: "grant-1006",
    });
    const { holdId } = await h.submit({ jobId: "job-1006", userRef: user });
    await h.waitForResult("job-1006");
    const before = await balanceOf(user);
    const completedBefore = await jobsTotal("completed");

    // As if the worker had died after publishing but before its ack: the job comes again.
    const replay = create(GenerationRequestedSchema, {
      jobId: "job-1006",
      userRef: user,
      operation: "generate",
      holdId,
      prompt: "x",
    });
    await publishRaw(h.js, {
      subject: h.names.subjects.generationRequested,
      data: toBinary(GenerationRequestedSchema, replay),
      msgId: "job-1006#redelivery",
      stream: h.names.streams.jobs,
    });
    await waitUntil(async () => (await jobsTotal("completed")) === completedBefore + 1, "the replay handled");
    await h.drained();
    expect(provider.calls.get("job-1006")).toBe(1);
    expect(await h.resultsOf("job-1006")).toHaveLength(1);
    expect(await balanceOf(user)).toEqual(before);
    expect(await holdOf(holdId)).toMatchObject({ state: HoldState.POSTED, postedAmount: 1n });
  });

  it("never delivers an unpaid image: a hold that expired while the provider worked fails the job", async () => {
    const user = "telegram:1007";
    provider.slow.set("job-1007", 2_500);
    const { holdId } = await h.submit({ jobId: "job-1007", userRef: user, holdTimeoutMs: 1_000 });
    const result = await h.waitForResult("job-1007");
    if (result.kind !== "failed") throw new Error(`expected a failure, got ${result.kind}`);
    expect(result.event).toMatchObject({ reasonCode: "hold_expired", refunded: true });
    // Commit met an expired hold: the worker does not know what it held; the bot asks billing.
    expect(result.event.returned).toBeUndefined();
    expect(result.event.reasonMessage).toMatch(/not charged/);
    expect((await holdOf(holdId))?.state).toBe(HoldState.EXPIRED);
    expect(await balanceOf(user)).toEqual({ credits: 0n, creditsReserved: 0n, free: 1n, freeReserved: 0n });
    // Deleted: nothing under the job id for anyone to deliver.
    expect(await findImage(h.buckets.results, h.buckets.names.jobResults, "job-1007")).toBeUndefined();
    expect(await h.resultsOf("job-1007")).toHaveLength(1);
  });

  it("never charges nor delivers a job whose hold the bot already released", async () => {
    const user = "telegram:1008";
    await h.bot.wallet.openAccount({ userRef: user });
    provider.slow.set("job-1008", 0);
    const reserved = await h.bot.wallet.reserve({
      userRef: user,
      operation: "generate",
      idempotencyKey: "job-1008",
      jobId: "job-1008",
    });
    const holdId = reserved.hold?.holdId ?? "";
    await h.bot.wallet.release({ holdId, reason: "user cancelled" });
    await publishGenerationRequested(
      h.js,
      h.names,
      create(GenerationRequestedSchema, {
        jobId: "job-1008",
        userRef: user,
        operation: "generate",
        holdId,
        prompt: "x",
      }),
    );
    const result = await h.waitForResult("job-1008");
    expect(result).toMatchObject({ kind: "failed", event: { reasonCode: "hold_released", refunded: true } });
    // The worker does not read the hold before starting (no GetHold): Commit refuses it, and the
    // image made meanwhile is deleted, so nothing unpaid can reach the user.
    expect(await findImage(h.buckets.results, h.buckets.names.jobResults, "job-1008")).toBeUndefined();
    expect(await balanceOf(user)).toEqual({ credits: 0n, creditsReserved: 0n, free: 1n, freeReserved: 0n });
    // Commit is refused by billing too: nothing can charge the user for it any more.
    await expect(h.bot.wallet.getHold({ holdId })).resolves.toMatchObject({
      hold: { state: HoldState.VOIDED },
    });
    const commit = await createWorkerClientCommit(holdId);
    expect(commit).toBe("HOLD_ALREADY_VOIDED");
  });

  it("reads the user's photos from the input bucket and refuses one that does not match its reference", async () => {
    const user = "telegram:1009";
    await h.bot.wallet.openAccount({ userRef: user });
    await h.admin.wallet.grant({
      userRef: user,
      amountCredits: 10n,
      reason: "test",
      idempotencyKey: "grant-1009",
    });
    const photo = await h.putInput("photo-1009", solidPng(32, 24, [200, 30, 30]), "image/png");
    await h.submit({
      jobId: "job-1009",
      userRef: user,
      operation: "edit",
      prompt: "make it blue",
      inputImages: [photo],
    });
    const edited = await h.waitForResult("job-1009");
    expect(edited.kind).toBe("completed");

    const tampered = { ...photo, sha256: "ab".repeat(32) };
    const { holdId } = await h.submit({
      jobId: "job-1009-bad",
      userRef: user,
      operation: "edit",
      prompt: "x",
      inputImages: [tampered],
    });
    const refused = await h.waitForResult("job-1009-bad");
    expect(refused).toMatchObject({ kind: "failed", event: { reasonCode: "input_missing", refunded: true } });
    expect((await holdOf(holdId))?.state).toBe(HoldState.VOIDED);
    expect(provider.calls.get("job-1009-bad")).toBeUndefined();
  });

  it("dead-letters a job it cannot act on (no hold id) and an undecodable one", async () => {
    await publishGenerationRequested(
      h.js,
      h.names,
      create(GenerationRequestedSchema, {
        jobId: "job-1010",
        userRef: "telegram:1010",
        operation: "generate",
      }),
    );
    await publishRaw(h.js, {
      subject: h.names.subjects.generationRequested,
      data: new Uint8Array([0xff, 0xff, 0xff]),
      msgId: "garbage-1",
      stream: h.names.streams.jobs,
    });
    await waitUntil(async () => (await h.deadLetters()).length === 2, "two dead letters");
    const codes = (await h.deadLetters()).map((d) => d.reasonCode).sort();
    expect(codes).toEqual(["invalid", "undecodable"]);
    await waitUntil(async () => (await h.queuedJobs()) === 0, "both removed from the queue");
    expect(await h.resultsOf("job-1010")).toEqual([]);
    expect(await jobsTotal("dead_letter")).toBe(2);
  });
});

/** Commit as the worker would, to show billing refuses it; returns the error reason. */
async function createWorkerClientCommit(holdId: string): Promise<string | undefined> {
  const { createBillingClient } = await import("@billing/client");
  const client = createBillingClient({ baseUrl: h.billing.url, token: h.billing.tokens.worker });
  try {
    await client.wallet.commit({ holdId });
    return undefined;
  } catch (error) {
    return errorReason(error);
  } finally {
    client.close();
  }
}
