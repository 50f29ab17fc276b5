// Commit and Release with `expected` (the job, user and operation the hold must pay for): a hold of
// another job, user or operation is refused with HOLD_MISMATCH and every ledger table stays
// byte-identical; the right expectation commits, and replays, as without one.
import { Code, ConnectError } from "@connectrpc/connect";
import { errorReason } from "@billing/client";
import { HoldState } from "@billing/proto/billing/v1/wallet_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { holdMismatches } from "../../src/ledger/rules/hold-expectation.js";
import { startTestBilling, type TestBilling, ledgerSnapshot } from "../support/helpers.js";

describe("holdMismatches (pure)", () => {
  const hold = { id: "h", jobId: "job-1", userRef: "telegram:1", operation: "generate" };
  it("names each differing field, checks only the fields that are set, and never matches a missing job id", () => {
    expect(holdMismatches(hold, { jobId: "job-1", userRef: "telegram:1", operation: "generate" })).toEqual(
      [],
    );
    expect(holdMismatches(hold, { jobId: "", userRef: "", operation: "" })).toEqual([]);
    expect(holdMismatches(hold, { jobId: "job-2", userRef: "telegram:2", operation: "edit" })).toEqual([
      "job_id",
      "user_ref",
      "operation",
    ]);
    expect(holdMismatches({ ...hold, jobId: null }, { jobId: "job-1", userRef: "", operation: "" })).toEqual([
      "job_id",
    ]);
  });
});

describe("Commit and Release with an expectation", () => {
  let billing: TestBilling;
  beforeAll(async () => {
    billing = await startTestBilling({ label: "commit_expect" });
  });
  afterAll(async () => billing?.close());

  const bot = () => billing.client("bot").wallet;
  const worker = () => billing.client("worker").wallet;
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => {
        const error = ConnectError.from(e);
        return { code: Code[error.code], reason: errorReason(e), message: error.rawMessage };
      },
    );
  const snapshot = () => ledgerSnapshot(billing.database.url);

  async function reserved(user: string, jobId: string) {
    await bot().openAccount({ userRef: user });
    const answer = await bot().reserve({
      userRef: user,
      operation: "generate",
      idempotencyKey: jobId,
      jobId,
    });
    if (answer.hold === undefined) throw new Error("Reserve answered without a hold");
    return answer.hold;
  }

  it("refuses a Commit naming another job, user or operation, and changes nothing", async () => {
    const hold = await reserved("telegram:501", "job-501");
    const right = { jobId: "job-501", userRef: "telegram:501", operation: "generate" };
    const before = await snapshot();
    for (const [expected, field] of [
      [{ ...right, jobId: "job-999" }, "job_id"],
      [{ ...right, userRef: "telegram:999" }, "user_ref"],
      [{ ...right, operation: "upscale" }, "operation"],
    ] as const) {
      const refused = await failure(worker().commit({ holdId: hold.holdId, expected }));
      expect(refused).toMatchObject({ code: "FailedPrecondition", reason: "HOLD_MISMATCH" });
      expect(refused?.message).toContain(field);
      // The hold's own values are not revealed to a caller who got them wrong.
      expect(refused?.message).not.toContain("telegram:501");
      expect(await snapshot()).toBe(before);
    }
    const balance = await billing.client("admin").wallet.getBalance({ userRef: "telegram:501" });
    expect([balance.freeOperationsAvailable, balance.freeOperationsReserved]).toEqual([3n, 1n]);
    expect((await bot().getHold({ holdId: hold.holdId })).hold?.state).toBe(HoldState.PENDING);

    // The right expectation commits, a replay answers the same, and a wrong one still learns nothing.
    const committed = await worker().commit({ holdId: hold.holdId, expected: right });
    expect(committed.hold).toMatchObject({ state: HoldState.POSTED, postedAmount: 1n, jobId: "job-501" });
    const replay = await worker().commit({ holdId: hold.holdId, expected: right });
    expect(replay.hold).toMatchObject({ state: HoldState.POSTED, postedAmount: 1n });
    expect(replay.balanceAfter).toMatchObject({ freeOperationsAvailable: 3n, freeOperationsReserved: 0n });
    const afterCommit = await snapshot();
    expect(
      await failure(worker().commit({ holdId: hold.holdId, expected: { ...right, jobId: "x" } })),
    ).toMatchObject({
      reason: "HOLD_MISMATCH",
    });
    expect(await snapshot()).toBe(afterCommit);
  });

  it("refuses a Release of another job's hold, and changes nothing", async () => {
    const hold = await reserved("telegram:502", "job-502");
    const before = await snapshot();
    const refused = await failure(
      worker().release({
        holdId: hold.holdId,
        reason: "provider failed",
        expected: { jobId: "job-other", userRef: "telegram:502", operation: "generate" },
      }),
    );
    expect(refused).toMatchObject({ code: "FailedPrecondition", reason: "HOLD_MISMATCH" });
    expect(await snapshot()).toBe(before);
    const released = await worker().release({
      holdId: hold.holdId,
      reason: "provider failed",
      expected: { jobId: "job-502", userRef: "telegram:502", operation: "generate" },
    });
    expect(released.hold?.state).toBe(HoldState.VOIDED);
    expect(released.balanceAfter).toMatchObject({ freeOperationsAvailable: 4n, freeOperationsReserved: 0n });
  });

  it("refuses a malformed expectation as INVALID_ARGUMENT naming the field", async () => {
    const hold = await reserved("telegram:503", "job-503");
    const refused = await failure(
      worker().commit({
        holdId: hold.holdId,
        expected: { jobId: "job-503", userRef: "not a user ref", operation: "Generate!" },
      }),
    );
    expect(refused).toMatchObject({ code: "InvalidArgument", reason: "INVALID_FIELD" });
    expect(refused?.message).toContain("expected.user_ref");
    expect(refused?.message).toContain("expected.operation");
    expect((await bot().getHold({ holdId: hold.holdId })).hold?.state).toBe(HoldState.PENDING);
  });
});
