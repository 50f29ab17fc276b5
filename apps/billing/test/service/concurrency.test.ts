// Hundreds of concurrent requests on one account: never an overdraft, exactly as many successes as
// the funds allow, one grant per account however often it is opened, one effect per idempotency key.
import { Code, ConnectError } from "@connectrpc/connect";
import { errorReason } from "@billing/client";
import { HoldState } from "@billing/proto/billing/v1/wallet_pb";
import { withPg } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBilling, type TestBilling } from "../support/helpers.js";

// Contention tests measure correctness, not speed: on a shared, loaded machine 300 calls queued on one
// row can take well over 20 s, so calls and tests get generous deadlines.
describe("concurrency", { timeout: 120_000 }, () => {
  let billing: TestBilling;
  beforeAll(async () => {
    // One shard per system account: every request contends on the same rows.
    billing = await startTestBilling({ label: "concurrency", systemShards: 1, clientTimeoutMs: 100_000 });
  });
  afterAll(async () => billing?.close());

  const settle = async <T>(calls: Promise<T>[]) => {
    const results = await Promise.allSettled(calls);
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const reasons = results.flatMap((r) =>
      r.status === "rejected" ? [errorReason(r.reason) ?? Code[ConnectError.from(r.reason).code]] : [],
    );
    return { ok, reasons };
  };

  it("300 concurrent charges against 4 free operations and 500 credits: exactly 54 succeed", async () => {
    const user = "conc:charges";
    const bot = billing.client("admin").wallet;
    await bot.openAccount({ userRef: user });
    await billing
      .client("admin")
      .wallet.grant({ userRef: user, amountCredits: 500n, reason: "load", idempotencyKey: "conc-grant" });
    const { ok, reasons } = await settle(
      Array.from({ length: 300 }, (_, i) =>
        bot.charge({ userRef: user, operation: "generate", idempotencyKey: `conc-charge-${i}` }),
      ),
    );
    expect(ok).toBe(4 + 50);
    expect(new Set(reasons)).toEqual(new Set(["INSUFFICIENT_FUNDS"]));
    expect(await bot.getBalance({ userRef: user })).toMatchObject({
      creditsAvailable: 0n,
      freeOperationsAvailable: 0n,
      creditsReserved: 0n,
    });
    expect(await billing.client("admin").wallet.verifyLedger({})).toMatchObject({ ok: true });
  });

  it("200 concurrent reserves and charges mixed: holds plus charges never exceed the funds", async () => {
    const user = "conc:mixed";
    const bot = billing.client("admin").wallet;
    await bot.openAccount({ userRef: user });
    await billing
      .client("admin")
      .wallet.grant({ userRef: user, amountCredits: 300n, reason: "load", idempotencyKey: "mixed-grant" });
    const calls: Promise<unknown>[] = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0
        ? bot.reserve({
            userRef: user,
            operation: "edit",
            idempotencyKey: `mixed-${i}`,
            timeout: { seconds: 600n, nanos: 0 },
          })
        : bot.charge({ userRef: user, operation: "edit", idempotencyKey: `mixed-${i}` }),
    );
    const { ok } = await settle(calls);
    expect(ok).toBe(4 + 30);
    const balance = await bot.getBalance({ userRef: user });
    expect(balance.creditsAvailable).toBe(0n);
    expect(balance.freeOperationsAvailable).toBe(0n);
    // Release every hold concurrently (twice each): funds return exactly once.
    const holds = await withPg(billing.database.url, (pg) =>
      pg.query<{ id: string }>(`select id from ledger_holds where user_ref = $1 and state = 'PENDING'`, [
        user,
      ]),
    );
    const worker = billing.client("worker").wallet;
    await Promise.all(
      holds.rows.flatMap((h) => [
        worker.release({ holdId: h.id, reason: "x" }),
        worker.release({ holdId: h.id, reason: "x" }),
      ]),
    );
    const after = await bot.getBalance({ userRef: user });
    expect(after.creditsReserved + after.freeOperationsReserved).toBe(0n);
    expect(after.creditsAvailable + after.freeOperationsAvailable * 10n).toBe(
      balance.creditsReserved + balance.freeOperationsReserved * 10n,
    );
    expect(await billing.client("admin").wallet.verifyLedger({})).toMatchObject({ ok: true });
  });

  it("concurrent commit and release of one hold: exactly one wins", async () => {
    const user = "conc:race";
    const bot = billing.client("admin").wallet;
    const worker = billing.client("worker").wallet;
    await bot.openAccount({ userRef: user });
    const { hold } = await bot.reserve({
      userRef: user,
      operation: "upscale",
      idempotencyKey: "race-1",
      timeout: { seconds: 600n, nanos: 0 },
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? worker.commit({ holdId: hold!.holdId })
          : worker.release({ holdId: hold!.holdId, reason: "r" }),
      ),
    );
    const final = (await worker.getHold({ holdId: hold!.holdId })).hold!;
    const winners = outcomes.filter((o) => o.status === "fulfilled");
    const losers = outcomes.flatMap((o) => (o.status === "rejected" ? [errorReason(o.reason)] : []));
    expect([HoldState.POSTED, HoldState.VOIDED]).toContain(final.state);
    // Every successful answer agrees with the final state; every refusal names it.
    expect(winners.length).toBe(10);
    expect(new Set(losers)).toEqual(
      new Set([final.state === HoldState.POSTED ? "HOLD_ALREADY_POSTED" : "HOLD_ALREADY_VOIDED"]),
    );
    const transfers = await withPg(billing.database.url, (pg) =>
      pg.query(
        `select 1 from ledger_transfers where hold_id = $1 and kind in ('HOLD_POSTED','HOLD_VOIDED')`,
        [hold!.holdId],
      ),
    );
    expect(transfers.rowCount).toBe(1);
  });

  it("100 concurrent OpenAccount calls create the account and grant the starter operations once", async () => {
    const user = "conc:open";
    const bot = billing.client("admin").wallet;
    const opened = await Promise.all(Array.from({ length: 100 }, () => bot.openAccount({ userRef: user })));
    expect(opened.filter((o) => o.created)).toHaveLength(1);
    expect(await bot.getBalance({ userRef: user })).toMatchObject({ freeOperationsAvailable: 4n });
    const grants = await withPg(billing.database.url, (pg) =>
      pg.query(`select 1 from ledger_transfers where user_ref = $1 and kind = 'STARTER_GRANT'`, [user]),
    );
    expect(grants.rowCount).toBe(1);
  });

  it("100 concurrent replays of one key apply once and all answer the same", async () => {
    const user = "conc:replay";
    const bot = billing.client("admin").wallet;
    await bot.openAccount({ userRef: user });
    const answers = await Promise.all(
      Array.from({ length: 100 }, () =>
        bot.charge({ userRef: user, operation: "merge", idempotencyKey: "one-key" }),
      ),
    );
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(await bot.getBalance({ userRef: user })).toMatchObject({ freeOperationsAvailable: 3n });
    // The same key used concurrently by another user is refused, not applied.
    await bot.openAccount({ userRef: "conc:other" });
    const clash = await bot
      .charge({ userRef: "conc:other", operation: "merge", idempotencyKey: "one-key" })
      .catch((e: unknown) => e);
    expect(errorReason(clash)).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(await bot.getBalance({ userRef: "conc:other" })).toMatchObject({ freeOperationsAvailable: 4n });
  });
});
