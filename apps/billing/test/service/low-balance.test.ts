// billing.balance.low: once per downward crossing of the user's threshold, through the outbox in the
// mutation's own transaction; exact under hundreds of concurrent charges; re-armed by a balance that
// rises back; the admin's override; nothing from a refused charge.
import { withPg } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ledgerSnapshot, type TestBilling } from "../support/helpers.js";
import {
  creditHistory,
  downwardCrossings,
  lowBalanceEvents,
  paidTopUp,
  refundPaid,
} from "../support/low-balance-helpers.js";
import { type BillingWithFake, startBillingWithFake } from "../support/payments-helpers.js";
import { refusalOf } from "../support/refusal.js";

const THRESHOLD = 20n;

describe("low balance, edge-triggered", { timeout: 120_000 }, () => {
  let env: BillingWithFake;
  let billing: TestBilling;
  beforeAll(async () => {
    env = await startBillingWithFake({
      label: "low_balance",
      // No starter free operations: every paid operation here is paid with credits.
      env: {
        BILLING_STARTER_FREE_OPERATIONS: "0",
        BILLING_LOW_BALANCE_THRESHOLD_CREDITS: THRESHOLD.toString(),
      },
    });
    billing = env.billing;
  });
  afterAll(async () => env?.close());

  const admin = () => billing.client("admin").wallet;
  const events = (userRef: string) => lowBalanceEvents(billing.database.url, userRef);
  const opened = async (userRef: string, credits: bigint) => {
    await admin().openAccount({ userRef });
    if (credits > 0n)
      await admin().grant({
        userRef,
        amountCredits: credits,
        reason: "test",
        idempotencyKey: `g-${userRef}`,
      });
  };
  const charge = (userRef: string, key: string) =>
    admin().charge({ userRef, operation: "generate", idempotencyKey: key });

  it("fires exactly once when 200 concurrent charges take the balance across the threshold", async () => {
    const user = "low:crowd";
    await opened(user, 1_995n);
    await admin().setLowBalanceThreshold({
      userRef: user,
      thresholdCredits: 1_000n,
      idempotencyKey: "t-crowd",
    });
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => charge(user, `crowd-${i}`)),
    );
    // 1995 credits pay for 199 charges of 10; the last one is refused.
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(199);
    expect((await admin().getBalance({ userRef: user })).creditsAvailable).toBe(5n);
    const low = await events(user);
    expect(low).toHaveLength(1);
    expect(low[0]).toMatchObject({
      creditsAvailable: 995n,
      thresholdCredits: 1_000n,
      toppedUp: false,
      cause: "charge",
    });
    expect(await admin().verifyLedger({})).toMatchObject({ ok: true });
  });

  it("matches the recorded history exactly when charges, grants and top-ups race around the threshold", async () => {
    const user = "low:race";
    const threshold = 1_000n;
    await opened(user, 1_005n);
    await admin().setLowBalanceThreshold({
      userRef: user,
      thresholdCredits: threshold,
      idempotencyKey: "t-race",
    });
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      calls.push(charge(user, `race-${i}`));
      // A grant after every other charge, and now and then a paid top-up: the balance wanders
      // around the threshold, down and up again, while the charges contend on the account.
      if (i % 2 === 0)
        calls.push(
          admin().grant({ userRef: user, amountCredits: 10n, reason: "race", idempotencyKey: `race-g-${i}` }),
        );
      if (i % 40 === 5) calls.push(paidTopUp(env, user, `race-t-${i}`, 10n));
    }
    await Promise.allSettled(calls);
    const crossings = downwardCrossings(await creditHistory(billing.database.url, user), threshold);
    const low = await events(user);
    expect(crossings.length).toBeGreaterThanOrEqual(1);
    expect(low.map((e) => e.creditsAvailable).sort()).toEqual([...crossings].sort());
    expect(low.every((e) => e.thresholdCredits === threshold)).toBe(true);
    expect(await admin().verifyLedger({})).toMatchObject({ ok: true });
  });

  it("re-arms once the balance is back at the threshold, then fires again once", async () => {
    const user = "low:rearm";
    await opened(user, 30n);
    const first = await charge(user, "rearm-1"); // 30 → 20: at the threshold, not below
    expect(await events(user)).toHaveLength(0);
    await charge(user, "rearm-2"); // 20 → 10: crossed
    await charge(user, "rearm-3"); // 10 → 0: still below, silent
    expect(await events(user)).toHaveLength(1);
    await admin().refund({
      target: { case: "transferId", value: first.transferId },
      idempotencyKey: "rearm-r",
    });
    await charge(user, "rearm-4"); // 10 → 0: the refund left it below, so nothing re-armed
    expect(await events(user)).toHaveLength(1);
    await paidTopUp(env, user, "rearm-t", 20n); // 0 → 20: re-armed
    await charge(user, "rearm-5"); // 20 → 10: crossed again
    const low = await events(user);
    expect(low).toHaveLength(2);
    expect(low[0]).toMatchObject({ creditsAvailable: 10n, toppedUp: false, thresholdCredits: THRESHOLD });
    expect(low[1]).toMatchObject({ creditsAvailable: 10n, toppedUp: true, cause: "charge" });
  });

  it("counts holds and payment refunds; a released hold re-arms", async () => {
    const user = "low:paths";
    await opened(user, 0n);
    const paymentId = await paidTopUp(env, user, "paths-t", 25n);
    const hold = await admin().reserve({ userRef: user, operation: "generate", idempotencyKey: "paths-h" });
    expect(await events(user)).toMatchObject([
      { creditsAvailable: 15n, creditsReserved: 10n, cause: "reserve" },
    ]);
    await admin().release({ holdId: hold.hold?.holdId ?? "", reason: "test" }); // 15 → 25: re-armed
    await refundPaid(env, paymentId, "paths-r", 10n); // 25 → 15: crossed by a payment refund
    const low = await events(user);
    expect(low).toHaveLength(2);
    expect(low[1]).toMatchObject({ creditsAvailable: 15n, cause: "payment_refund", toppedUp: true });
    expect(await admin().verifyLedger({})).toMatchObject({ ok: true });
  });

  it("a refused charge changes nothing and announces nothing", async () => {
    const user = "low:refused";
    await opened(user, 25n);
    await charge(user, "refused-1"); // 25 → 15: crossed
    await charge(user, "refused-2"); // 15 → 5
    const before = await ledgerSnapshot(billing.database.url);
    expect(await refusalOf(charge(user, "refused-3"))).toMatchObject({ reason: "INSUFFICIENT_FUNDS" });
    expect(await ledgerSnapshot(billing.database.url)).toBe(before);
    expect(await events(user)).toHaveLength(1);
  });

  it("an admin's threshold overrides the default, idempotently, and clearing it restores the default", async () => {
    const user = "low:override";
    await opened(user, 60n);
    const set = { userRef: user, thresholdCredits: 50n, idempotencyKey: "override-1" };
    const answer = await admin().setLowBalanceThreshold(set);
    expect(answer).toMatchObject({ userRef: user, thresholdCredits: 50n, isDefault: false });
    expect(answer.balance?.creditsAvailable).toBe(60n);
    // A replay answers the same; the key with another request is refused.
    expect(await admin().setLowBalanceThreshold(set)).toEqual(answer);
    expect(await refusalOf(admin().setLowBalanceThreshold({ ...set, thresholdCredits: 40n }))).toMatchObject({
      code: "AlreadyExists",
      reason: "IDEMPOTENCY_KEY_REUSED",
    });
    await charge(user, "override-c1"); // 60 → 50
    await charge(user, "override-c2"); // 50 → 40: below 50, above the default 20
    expect(await events(user)).toMatchObject([{ creditsAvailable: 40n, thresholdCredits: 50n }]);

    const cleared = await admin().setLowBalanceThreshold({ userRef: user, idempotencyKey: "override-2" });
    expect(cleared).toMatchObject({ thresholdCredits: THRESHOLD, isDefault: true });
    await charge(user, "override-c3"); // 40 → 30
    await charge(user, "override-c4"); // 30 → 20
    await charge(user, "override-c5"); // 20 → 10: below the default
    expect((await events(user)).map((e) => e.thresholdCredits)).toEqual([50n, THRESHOLD]);

    // 0 turns it off: credits never go below 0.
    await admin().setLowBalanceThreshold({
      userRef: user,
      thresholdCredits: 0n,
      idempotencyKey: "override-3",
    });
    await charge(user, "override-c6");
    expect(await events(user)).toHaveLength(2);
  });

  it("refuses a bad threshold with the field, an unknown user, and a caller without the admin scope", async () => {
    const user = "low:refusals";
    await opened(user, 0n);
    const before = await ledgerSnapshot(billing.database.url);
    expect(
      await refusalOf(
        admin().setLowBalanceThreshold({ userRef: user, thresholdCredits: -1n, idempotencyKey: "r-1" }),
      ),
    ).toMatchObject({ code: "InvalidArgument", fields: { threshold_credits: "must not be negative" } });
    expect(
      await refusalOf(
        admin().setLowBalanceThreshold({
          userRef: user,
          thresholdCredits: 1_000_000_001n,
          idempotencyKey: "r-2",
        }),
      ),
    ).toMatchObject({ code: "InvalidArgument", fields: { threshold_credits: "must be at most 1000000000" } });
    expect(
      await refusalOf(
        admin().setLowBalanceThreshold({
          userRef: "low:nobody",
          thresholdCredits: 5n,
          idempotencyKey: "r-3",
        }),
      ),
    ).toMatchObject({ code: "NotFound", reason: "ACCOUNT_NOT_FOUND" });
    for (const scope of ["bot", "worker", "webhooks", "service"] as const) {
      expect(
        await refusalOf(
          billing
            .client(scope)
            .wallet.setLowBalanceThreshold({ userRef: user, thresholdCredits: 5n, idempotencyKey: "r-4" }),
        ),
      ).toMatchObject({ code: "PermissionDenied" });
    }
    expect(await ledgerSnapshot(billing.database.url)).toBe(before);
  });

  it("VerifyLedger checks the topped-up flag against the TOP_UP transfers", async () => {
    const user = "low:verify";
    await opened(user, 0n);
    await paidTopUp(env, user, "verify-t", 10n);
    expect(await admin().verifyLedger({})).toMatchObject({ ok: true });
    const flag = (value: boolean) =>
      withPg(billing.database.url, (pg) =>
        pg.query(
          `update ledger_accounts set topped_up = $2 where owner_ref = $1 and kind = 'USER' and asset = 'CREDITS'`,
          [user, value],
        ),
      );
    await flag(false);
    try {
      const report = await admin().verifyLedger({});
      expect(report.ok).toBe(false);
      expect(report.violations.map((v) => v.invariant)).toEqual(["topped_up_matches_top_ups"]);
    } finally {
      await flag(true);
    }
    expect(await admin().verifyLedger({})).toMatchObject({ ok: true });
  });
});
