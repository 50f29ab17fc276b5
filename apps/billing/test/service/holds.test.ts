// Two-phase holds: reserve, then commit (full or partial), release or expiry — each resolving once,
// with balances exact at every step and every wrong second resolution refused with its reason.
import { Code, ConnectError } from "@connectrpc/connect";
import { errorReason } from "@billing/client";
import { FundingSource, HoldState, TransactionKind } from "@billing/proto/billing/v1/wallet_pb";
import { waitFor, withPg } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, startTestBilling, type TestBilling } from "../support/helpers.js";

const seconds = (s: number) => ({ seconds: BigInt(s), nanos: 0 });

describe("holds", () => {
  let billing: TestBilling;
  const clock = new ManualClock();
  beforeAll(async () => {
    billing = await startTestBilling({ label: "holds", clock });
  });
  afterAll(async () => billing?.close());

  const bot = () => billing.client("admin").wallet;
  const worker = () => billing.client("worker").wallet;
  let next = 0;
  async function userWithCredits(credits: bigint, freeOperations = 0n): Promise<string> {
    const user = `hold:${++next}`;
    await bot().openAccount({ userRef: user });
    // Use up the starter free operations so the test controls the funding source.
    for (let i = 0; i < 4; i++)
      await bot().charge({ userRef: user, operation: "generate", idempotencyKey: `${user}:burn:${i}` });
    if (credits > 0n || freeOperations > 0n) {
      await billing.client("admin").wallet.grant({
        userRef: user,
        amountCredits: credits,
        freeOperations,
        reason: "test",
        idempotencyKey: `${user}:grant`,
      });
    }
    return user;
  }
  const balance = async (user: string) => {
    const b = await bot().getBalance({ userRef: user });
    return {
      available: b.creditsAvailable,
      reserved: b.creditsReserved,
      free: b.freeOperationsAvailable,
      freeReserved: b.freeOperationsReserved,
    };
  };
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => [Code[ConnectError.from(e).code], errorReason(e)],
    );

  it("reserve → commit in full; committing again answers the same; releasing after is refused", async () => {
    const user = await userWithCredits(30n);
    const reserved = await bot().reserve({
      userRef: user,
      operation: "generate",
      idempotencyKey: "r1",
      timeout: seconds(60),
      jobId: "job-1",
    });
    const hold = reserved.hold!;
    expect(hold).toMatchObject({
      state: HoldState.PENDING,
      fundedBy: FundingSource.CREDITS,
      amountCredits: 10n,
      priceCredits: 10n,
      jobId: "job-1",
    });
    expect(await balance(user)).toMatchObject({ available: 20n, reserved: 10n });

    const committed = await worker().commit({ holdId: hold.holdId });
    expect(committed.hold).toMatchObject({ state: HoldState.POSTED, postedAmount: 10n });
    expect(committed.balanceAfter).toMatchObject({ creditsAvailable: 20n, creditsReserved: 0n });
    expect(await balance(user)).toMatchObject({ available: 20n, reserved: 0n });

    const again = await worker().commit({ holdId: hold.holdId, amount: 10n });
    expect(again.hold).toEqual(committed.hold);
    expect(await failure(worker().commit({ holdId: hold.holdId, amount: 5n }))).toEqual([
      "FailedPrecondition",
      "HOLD_ALREADY_POSTED",
    ]);
    expect(await failure(worker().release({ holdId: hold.holdId, reason: "late" }))).toEqual([
      "FailedPrecondition",
      "HOLD_ALREADY_POSTED",
    ]);
    expect(await balance(user)).toMatchObject({ available: 20n, reserved: 0n });
  });

  it("commits part of a hold and returns the rest", async () => {
    const user = await userWithCredits(10n);
    const { hold } = await bot().reserve({
      userRef: user,
      operation: "edit",
      idempotencyKey: "p1",
      timeout: seconds(60),
    });
    expect(await failure(worker().commit({ holdId: hold!.holdId, amount: 11n }))).toEqual([
      "InvalidArgument",
      "AMOUNT_EXCEEDS_HOLD",
    ]);
    const committed = await worker().commit({ holdId: hold!.holdId, amount: 7n });
    expect(committed.hold).toMatchObject({ state: HoldState.POSTED, postedAmount: 7n });
    expect(await balance(user)).toMatchObject({ available: 3n, reserved: 0n });
    const statement = await bot().listTransactions({ userRef: user, pageSize: 2 });
    expect(statement.transactions.map((t) => [TransactionKind[t.kind], t.amount, t.balanceAfter])).toEqual([
      ["HOLD_POSTED", 3n, 3n],
      ["HOLD", -10n, 0n],
    ]);
  });

  it("reserve → release returns the credits; releasing again answers the same; committing after is refused", async () => {
    const user = await userWithCredits(10n);
    const { hold } = await bot().reserve({
      userRef: user,
      operation: "merge",
      idempotencyKey: "v1",
      timeout: seconds(60),
    });
    expect(await balance(user)).toMatchObject({ available: 0n, reserved: 10n });
    const released = await worker().release({ holdId: hold!.holdId, reason: "provider_failed" });
    expect(released.hold).toMatchObject({ state: HoldState.VOIDED, resolutionReason: "provider_failed" });
    expect(await balance(user)).toMatchObject({ available: 10n, reserved: 0n });
    expect((await worker().release({ holdId: hold!.holdId, reason: "again" })).hold?.state).toBe(
      HoldState.VOIDED,
    );
    expect(await failure(worker().commit({ holdId: hold!.holdId }))).toEqual([
      "FailedPrecondition",
      "HOLD_ALREADY_VOIDED",
    ]);
    expect(await balance(user)).toMatchObject({ available: 10n, reserved: 0n });
  });

  it("holds a free operation first and returns it on release", async () => {
    const user = "hold:free";
    await bot().openAccount({ userRef: user });
    const { hold } = await bot().reserve({
      userRef: user,
      operation: "face_swap",
      idempotencyKey: "f1",
      timeout: seconds(60),
    });
    expect(hold).toMatchObject({
      fundedBy: FundingSource.FREE_OPERATION,
      amountFreeOperations: 1n,
      amountCredits: 0n,
    });
    expect(await balance(user)).toMatchObject({ free: 3n, freeReserved: 1n });
    await worker().release({ holdId: hold!.holdId, reason: "failed" });
    expect(await balance(user)).toMatchObject({ free: 4n, freeReserved: 0n });
  });

  it("expires a hold after its timeout: the service voids it, records it, and refuses a late commit", async () => {
    const user = await userWithCredits(20n);
    const { hold } = await bot().reserve({
      userRef: user,
      operation: "retouch",
      idempotencyKey: "e1",
      timeout: seconds(30),
      jobId: "job-e1",
    });
    const lateCommit = await bot().reserve({
      userRef: user,
      operation: "retouch",
      idempotencyKey: "e2",
      timeout: seconds(30),
    });
    expect(await balance(user)).toMatchObject({ available: 0n, reserved: 20n });
    clock.advance(31_000);
    // The sweep (every 200 ms in tests) voids the first; the second is resolved by the late commit.
    await waitFor("the sweep to expire the hold", async () =>
      (await worker().getHold({ holdId: hold!.holdId })).hold?.state === HoldState.EXPIRED ? true : undefined,
    );
    expect(await failure(worker().commit({ holdId: hold!.holdId }))).toEqual([
      "FailedPrecondition",
      "HOLD_EXPIRED",
    ]);
    expect(await failure(worker().commit({ holdId: lateCommit.hold!.holdId }))).toEqual([
      "FailedPrecondition",
      "HOLD_EXPIRED",
    ]);
    expect(await balance(user)).toMatchObject({ available: 20n, reserved: 0n });
    const events = await withPg(billing.database.url, (pg) =>
      pg.query<{ subject: string }>(
        `select subject from outbox_events where subject = 'billing.hold.expired'`,
      ),
    );
    expect(events.rows.length).toBeGreaterThanOrEqual(2);
    const statement = await bot().listTransactions({ userRef: user, pageSize: 2 });
    expect(statement.transactions.map((t) => TransactionKind[t.kind])).toEqual([
      "HOLD_EXPIRED",
      "HOLD_EXPIRED",
    ]);
    expect(await billing.client("admin").wallet.verifyLedger({})).toMatchObject({ ok: true });
  });

  it("refunds a committed hold by its id, once", async () => {
    const user = await userWithCredits(10n);
    const { hold } = await bot().reserve({
      userRef: user,
      operation: "upscale",
      idempotencyKey: "rf1",
      timeout: seconds(60),
    });
    expect(
      await failure(
        bot().refund({
          target: { case: "holdId", value: hold!.holdId },
          reason: "x",
          idempotencyKey: "rf-early",
        }),
      ),
    ).toEqual(["FailedPrecondition", "NOT_REFUNDABLE"]);
    await worker().commit({ holdId: hold!.holdId });
    const refunded = await bot().refund({
      target: { case: "holdId", value: hold!.holdId },
      reason: "bad result",
      idempotencyKey: "rf2",
    });
    expect(refunded).toMatchObject({
      returnedAs: FundingSource.CREDITS,
      amountCredits: 10n,
      balanceAfter: { creditsAvailable: 10n },
    });
    expect((await worker().getHold({ holdId: hold!.holdId })).hold?.refunded).toBe(true);
    expect(
      await failure(
        bot().refund({ target: { case: "holdId", value: hold!.holdId }, reason: "x", idempotencyKey: "rf3" }),
      ),
    ).toEqual(["FailedPrecondition", "ALREADY_REFUNDED"]);
  });

  it("answers NOT_FOUND for an unknown hold and INVALID_ARGUMENT for a malformed id", async () => {
    expect(await failure(worker().commit({ holdId: "7b0b3f5e-0000-4000-8000-000000000000" }))).toEqual([
      "NotFound",
      "HOLD_NOT_FOUND",
    ]);
    expect(await failure(worker().commit({ holdId: "nope" }))).toEqual(["InvalidArgument", "INVALID_FIELD"]);
  });
});
