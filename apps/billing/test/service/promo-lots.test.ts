// Promo lots over the wire: the spending order in every mix of free operations, lots and purchased
// credits (against a reference model); a charge split across three lots and refunded after one of
// them expired; holds settled lot by lot across an expiry; hundreds of concurrent charges and holds
// that never overdraw a lot; expiry racing charges and a second instance with exactly one winner per
// unit; the sweep's expiry and its day-before notice, each once; refusals that change nothing.
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { errorReason } from "@billing/client";
import { FundingSource, TransactionKind } from "@billing/proto/billing/v1/wallet_pb";
import { metricValue, withPg } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ledger } from "../../src/ledger/ledger.js";
import { ledgerSnapshot, ManualClock, startTestBilling, type TestBilling } from "../support/helpers.js";
import { eventsOf, sharesOf, storedLots } from "../support/lot-helpers.js";
import { paidTopUp, refundPaid } from "../support/low-balance-helpers.js";
import { type BillingWithFake, startBillingWithFake } from "../support/payments-helpers.js";
import { refusalOf } from "../support/refusal.js";

const PRICE = 10n;
const HOUR_MS = 3600_000;

describe("promo lots", { timeout: 180_000 }, () => {
  let billing: TestBilling;
  const clock = new ManualClock();
  beforeAll(async () => {
    // No starter free operations, and no sweep: expiry here happens when a test asks for it (or when
    // a command reaches a due lot), so every balance is exact.
    billing = await startTestBilling({
      label: "promo_lots",
      clock,
      env: { BILLING_STARTER_FREE_OPERATIONS: "0", BILLING_HOLD_SWEEP_INTERVAL_MS: "600000" },
    });
  });
  afterAll(async () => billing?.close());

  const wallet = () => billing.client("admin").wallet;
  const ledger = () => billing.server.context().ledger;
  let counter = 0;
  const key = (what: string) => `${what}-${++counter}`;
  const open = async (userRef: string, purchased: bigint, freeOperations = 0n) => {
    await wallet().openAccount({ userRef });
    if (purchased > 0n || freeOperations > 0n)
      await wallet().grant({
        userRef,
        amountCredits: purchased,
        freeOperations,
        reason: "purchased",
        idempotencyKey: key("buy"),
      });
  };
  const promo = async (userRef: string, credits: bigint, inMs: number, priority = 0) =>
    (
      await wallet().grant({
        userRef,
        amountCredits: credits,
        reason: `promo ${credits}`,
        idempotencyKey: key("promo"),
        expiresAt: timestampFromDate(new Date(clock.now().getTime() + inMs)),
        priority,
      })
    ).lotId;
  /** A hold that outlives the clock moves of a test. */
  const reserve = (userRef: string) =>
    wallet().reserve({
      userRef,
      operation: "generate",
      idempotencyKey: key("hold"),
      timeout: { seconds: 86_400n },
    });
  const charge = (userRef: string) =>
    wallet().charge({ userRef, operation: "generate", idempotencyKey: key("charge") });
  const balance = (userRef: string) => wallet().getBalance({ userRef });
  const lotCredits = async (userRef: string) =>
    new Map((await balance(userRef)).promoLots.map((lot) => [lot.lotId, lot.creditsAvailable]));

  it("spends free operations, then promo lots by priority and expiry, then purchased credits, in every mix", async () => {
    const LOTS = [
      { credits: 5n, priority: 0, inMs: 3 * HOUR_MS },
      { credits: 7n, priority: 5, inMs: 5 * HOUR_MS },
      { credits: 4n, priority: 5, inMs: 2 * HOUR_MS },
    ];
    const mixes: { free: bigint; lots: typeof LOTS; purchased: bigint }[] = [];
    for (const free of [0n, 1n])
      for (let subset = 0; subset < 8; subset++)
        for (const purchased of [0n, 25n])
          mixes.push({ free, lots: LOTS.filter((_, i) => (subset >> i) & 1), purchased });

    await Promise.all(
      mixes.map(async (mix, m) => {
        const userRef = `order:${m}`;
        await open(userRef, mix.purchased, mix.free);
        // The reference model: the lots in the order the issue states.
        const model = await Promise.all(
          mix.lots.map(async (lot) => ({
            ...lot,
            id: await promo(userRef, lot.credits, lot.inMs, lot.priority),
          })),
        );
        const order = [...model].sort((a, b) => b.priority - a.priority || a.inMs - b.inMs);
        const left = new Map(order.map((lot) => [lot.id, lot.credits]));
        let free = mix.free;
        let purchased = mix.purchased;
        for (let step = 0; step < 6; step++) {
          const promoLeft = [...left.values()].reduce((a, b) => a + b, 0n);
          if (free === 0n && promoLeft + purchased < PRICE) {
            expect((await refusalOf(charge(userRef))).reason).toBe("INSUFFICIENT_FUNDS");
            break;
          }
          const result = await charge(userRef);
          const expectedShares: { lot: string; amount: bigint }[] = [];
          if (free > 0n) {
            free--;
            expect(result.fundedBy).toBe(FundingSource.FREE_OPERATION);
          } else {
            expect(result.fundedBy).toBe(FundingSource.CREDITS);
            let owed = PRICE;
            for (const lot of order) {
              const take = (left.get(lot.id) ?? 0n) < owed ? (left.get(lot.id) ?? 0n) : owed;
              if (take === 0n) continue;
              left.set(lot.id, (left.get(lot.id) ?? 0n) - take);
              expectedShares.push({ lot: lot.id, amount: take });
              owed -= take;
            }
            purchased -= owed;
          }
          expect(await sharesOf(billing.database.url, result.transferId)).toEqual(expectedShares);
          const now = await balance(userRef);
          expect(now.creditsPurchased).toBe(purchased);
          expect(now.creditsPromo).toBe([...left.values()].reduce((a, b) => a + b, 0n));
          expect(now.creditsAvailable).toBe(now.creditsPurchased + now.creditsPromo);
          expect(now.freeOperationsAvailable).toBe(free);
          // Listed in spending order, with exactly what each lot has left.
          expect(now.promoLots.map((lot) => [lot.lotId, lot.creditsAvailable])).toEqual(
            order.filter((lot) => (left.get(lot.id) ?? 0n) > 0n).map((lot) => [lot.id, left.get(lot.id)]),
          );
        }
      }),
    );
    expect((await ledger().verify([])).violations).toEqual([]);
  });

  it("splits a charge across three lots and refunds it after one of them expired, visibly", async () => {
    const userRef = "split:1";
    await open(userRef, 20n);
    const a = await promo(userRef, 6n, 3 * HOUR_MS, 9);
    const b = await promo(userRef, 3n, 4 * HOUR_MS, 9);
    const c = await promo(userRef, 5n, 1 * HOUR_MS, 1);
    const charged = await charge(userRef);
    expect(await sharesOf(billing.database.url, charged.transferId)).toEqual([
      { lot: a, amount: 6n },
      { lot: b, amount: 3n },
      { lot: c, amount: 1n },
    ]);
    const after = await balance(userRef);
    expect([after.creditsAvailable, after.creditsPromo, after.creditsPurchased]).toEqual([24n, 4n, 20n]);
    expect(after.nextExpiry?.amountCredits).toBe(4n);
    expect(timestampDate(after.nextExpiry!.at!).getTime()).toBe(clock.now().getTime() + HOUR_MS);

    clock.advance(HOUR_MS);
    // Due but not yet expired: still in the balance, and counted as promo, so the parts add up.
    const due = await balance(userRef);
    expect([due.creditsAvailable, due.creditsPromo, due.creditsPurchased]).toEqual([24n, 4n, 20n]);
    await ledger().expireDueLots(100);
    expect((await storedLots(billing.database.url, userRef)).get(c)).toMatchObject({
      state: "EXPIRED",
      balance: 0n,
    });
    expect((await balance(userRef)).creditsAvailable).toBe(20n);

    const refund = await wallet().refund({
      target: { case: "transferId", value: charged.transferId },
      reason: "support",
      idempotencyKey: key("refund"),
    });
    expect(refund.amountCredits).toBe(10n);
    const final = await balance(userRef);
    // A and B have their shares back; C's share came back to an expired lot and expired at once.
    expect([final.creditsAvailable, final.creditsPromo, final.creditsPurchased]).toEqual([29n, 9n, 20n]);
    expect(await lotCredits(userRef)).toEqual(
      new Map([
        [a, 6n],
        [b, 3n],
      ]),
    );
    const statement = await wallet().listTransactions({ userRef, pageSize: 10 });
    const newest = statement.transactions
      .slice(0, 4)
      .map((t) => [TransactionKind[t.kind], t.amount, t.reference]);
    expect(newest).toEqual([
      ["CREDITS_EXPIRED", -1n, "returned_after_expiry"],
      ["REFUND", 10n, "support"],
      ["CREDITS_EXPIRED", -4n, "lot_expired"],
      ["CHARGE", -10n, ""],
    ]);
    expect(statement.transactions[0]?.promoLots.map((s) => [s.lotId, s.amount])).toEqual([[c, 1n]]);
    const expired = await eventsOf(billing.database.url, userRef, "creditsExpired");
    expect(expired.map((e) => [e.lotId, e.amountCredits, e.cause])).toEqual([
      [c, 4n, "lot_expired"],
      [c, 1n, "returned_after_expiry"],
    ]);
    expect((await ledger().verify([])).violations).toEqual([]);
  });

  it("settles a hold lot by lot: a commit spends the lots it reserved, a release after expiry expires what returns", async () => {
    const userRef = "holds:1";
    await open(userRef, 20n);
    const a = await promo(userRef, 4n, HOUR_MS, 2);
    const b = await promo(userRef, 10n, 5 * HOUR_MS, 1);
    const first = await reserve(userRef);
    expect(await storedLots(billing.database.url, userRef)).toEqual(
      new Map([
        [a, { id: a, balance: 4n, reserved: 4n, state: "ACTIVE" }],
        [b, { id: b, balance: 10n, reserved: 6n, state: "ACTIVE" }],
      ]),
    );
    clock.advance(HOUR_MS);
    await ledger().expireDueLots(100);
    // A expired while all of it was held: nothing of it was free to expire.
    expect((await storedLots(billing.database.url, userRef)).get(a)).toMatchObject({
      state: "EXPIRED",
      balance: 4n,
    });
    await wallet().commit({ holdId: first.hold!.holdId, amountCredits: 7n });
    // Posted 7: A's 4, then 3 of B's 6; B's other 3 return to B.
    expect(await storedLots(billing.database.url, userRef)).toEqual(
      new Map([
        [a, { id: a, balance: 0n, reserved: 0n, state: "EXPIRED" }],
        [b, { id: b, balance: 7n, reserved: 0n, state: "ACTIVE" }],
      ]),
    );
    const second = await reserve(userRef);
    expect((await balance(userRef)).creditsPurchased).toBe(17n);
    clock.advance(4 * HOUR_MS);
    await ledger().expireDueLots(100);
    await wallet().release({ holdId: second.hold!.holdId, reason: "failed" });
    const final = await balance(userRef);
    // B's 7 came back to an expired lot and expired; the 3 purchased credits came back.
    expect([final.creditsAvailable, final.creditsPromo, final.creditsPurchased]).toEqual([20n, 0n, 20n]);
    const expired = await eventsOf(billing.database.url, userRef, "creditsExpired");
    expect(expired.map((e) => [e.lotId, e.amountCredits, e.cause])).toEqual([
      [b, 7n, "returned_after_expiry"],
    ]);
    expect((await ledger().verify([])).violations).toEqual([]);
  });

  it("never overdraws a lot under hundreds of concurrent charges and holds", async () => {
    const users = Array.from({ length: 20 }, (_, i) => `crowd:${i}`);
    await Promise.all(
      users.map(async (userRef) => {
        await open(userRef, 9n);
        await promo(userRef, 7n, 2 * HOUR_MS, 1);
        await promo(userRef, 11n, 3 * HOUR_MS, 1);
        await promo(userRef, 13n, 2 * HOUR_MS, 0);
      }),
    );
    // 40 credits each: exactly 4 of the 10 operations per user can be paid.
    const outcomes = await Promise.all(
      users.flatMap((userRef) =>
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? charge(userRef) : reserve(userRef)).then(
            (answer) => ({ userRef, answer }),
            (error: unknown) => ({ userRef, reason: errorReason(error) }),
          ),
        ),
      ),
    );
    for (const userRef of users) {
      const mine = outcomes.filter((o) => o.userRef === userRef);
      expect(mine.filter((o) => "answer" in o)).toHaveLength(4);
      expect(new Set(mine.filter((o) => "reason" in o).map((o) => (o as { reason: string }).reason))).toEqual(
        new Set(["INSUFFICIENT_FUNDS"]),
      );
      const lots = [...(await storedLots(billing.database.url, userRef)).values()];
      // Every unit of every lot went to exactly one operation: nothing is left to spend.
      expect(lots.every((lot) => lot.balance === lot.reserved)).toBe(true);
      const now = await balance(userRef);
      expect([now.creditsAvailable, now.creditsPromo, now.creditsPurchased]).toEqual([0n, 0n, 0n]);
    }
    expect((await ledger().verify([])).violations).toEqual([]);
  });

  it("lets exactly one of an expiry and a charge (or two instances' sweeps) have each unit", async () => {
    const users = Array.from({ length: 30 }, (_, i) => `race:${i}`);
    const lots = await Promise.all(
      users.map(async (userRef) => {
        await open(userRef, 0n);
        return promo(userRef, PRICE, HOUR_MS);
      }),
    );
    // A second ledger on the same database: another instance's sweeper.
    const other = await Ledger.create(ledger().db, ledger().config, ledger().log, clock);
    clock.advance(HOUR_MS - 5);
    const charges = users.map((userRef, i) =>
      (async () => {
        await new Promise((resolve) => setTimeout(resolve, i % 7));
        return charge(userRef).then(
          () => "charged",
          (error: unknown) => errorReason(error),
        );
      })(),
    );
    const sweeps = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 3));
      clock.advance(5);
      await Promise.all([ledger().expireDueLots(100), other.expireDueLots(100), ledger().expireDueLots(100)]);
    })();
    const outcomes = await Promise.all(charges);
    await sweeps;
    await Promise.all([ledger().expireDueLots(100), other.expireDueLots(100)]);
    const kinds = await withPg(billing.database.url, async (pg) => {
      const { rows } = await pg.query<{ lot: string; kind: string; amount: string }>(
        `select s->>'lot' as lot, t.kind, (s->>'amount') as amount
           from ledger_transfers t cross join lateral jsonb_array_elements(t.lots) s
          where t.kind in ('CHARGE', 'CREDITS_EXPIRED') and t.user_ref like 'race:%'`,
      );
      return rows;
    });
    users.forEach((_, i) => {
      const mine = kinds.filter((row) => row.lot === lots[i]);
      // The whole lot went one way, once: charged, or expired.
      expect(mine).toHaveLength(1);
      expect(mine[0]?.amount).toBe(PRICE.toString());
      expect(mine[0]?.kind).toBe(outcomes[i] === "charged" ? "CHARGE" : "CREDITS_EXPIRED");
      if (outcomes[i] !== "charged") expect(outcomes[i]).toBe("INSUFFICIENT_FUNDS");
    });
    expect((await ledger().verify([])).violations).toEqual([]);
  });

  it("VerifyLedger finds a lot that disagrees with its transfers, and shares that do not fit their transfer", async () => {
    const userRef = "verify:1";
    await open(userRef, 0n);
    const lotId = await promo(userRef, 10n, HOUR_MS);
    const charged = await charge(userRef);
    const violations = async () =>
      (await ledger().verify([])).violations.map((v) => [v.invariant, v.subject]);
    const tamper = (sql: string, value: string) =>
      withPg(billing.database.url, (pg) => pg.query(sql, [value]));
    await tamper(`update credit_lots set balance = balance + 1 where id = $1`, lotId);
    expect(await violations()).toEqual([
      ["lot_matches_transfers", lotId],
      ["lots_within_account", expect.any(String)],
    ]);
    await tamper(`update credit_lots set balance = balance - 1 where id = $1`, lotId);
    await tamper(
      `update ledger_transfers set lots = jsonb_build_array(jsonb_build_object('lot', lots->0->>'lot', 'amount', '11'))
        where id = $1`,
      charged.transferId,
    );
    expect(await violations()).toContainEqual(["lot_shares_well_formed", charged.transferId]);
    await tamper(
      `update ledger_transfers set lots = jsonb_build_array(jsonb_build_object('lot', lots->0->>'lot', 'amount', '10'))
        where id = $1`,
      charged.transferId,
    );
    expect(await violations()).toEqual([]);
  });

  it("keeps at most 100 unexpired lots per user: the 101st grant is refused and changes nothing", async () => {
    const userRef = "many:1";
    await open(userRef, 0n);
    for (let i = 0; i < 100; i++) await promo(userRef, 1n, HOUR_MS + i);
    const before = await ledgerSnapshot(billing.database.url);
    expect(await refusalOf(promo(userRef, 1n, HOUR_MS))).toEqual({
      code: "ResourceExhausted",
      reason: "TOO_MANY_LOTS",
      fields: {},
    });
    expect(await ledgerSnapshot(billing.database.url)).toBe(before);
    expect((await balance(userRef)).creditsPromo).toBe(100n);
  });

  it("refuses malformed promo grants with the field named, and changes nothing", async () => {
    const userRef = "invalid:1";
    await open(userRef, 0n);
    const before = await ledgerSnapshot(billing.database.url);
    const grant = (fields: Record<string, unknown>) =>
      refusalOf(
        wallet().grant({
          userRef,
          amountCredits: 5n,
          reason: "promo",
          idempotencyKey: key("bad"),
          ...fields,
        }),
      );
    const at = (ms: number) => timestampFromDate(new Date(clock.now().getTime() + ms));
    expect(await grant({ expiresAt: at(-1000) })).toEqual({
      code: "InvalidArgument",
      reason: "INVALID_FIELD",
      fields: { expires_at: expect.stringContaining("must be after the ledger's clock") },
    });
    expect(Object.keys((await grant({ expiresAt: at(11 * 366 * 24 * HOUR_MS) })).fields)).toEqual([
      "expires_at",
    ]);
    expect(Object.keys((await grant({ priority: 3 })).fields)).toEqual(["priority"]);
    expect(Object.keys((await grant({ expiresAt: at(HOUR_MS), priority: 1001 })).fields)).toEqual([
      "priority",
    ]);
    expect(Object.keys((await grant({ expiresAt: at(HOUR_MS), freeOperations: 1n })).fields)).toEqual([
      "free_operations",
    ]);
    expect(
      Object.keys((await grant({ expiresAt: at(HOUR_MS), amountCredits: 0n, freeOperations: 0n })).fields),
    ).toContain("amount_credits");
    expect(await ledgerSnapshot(billing.database.url)).toBe(before);
  });
});

describe("promo lots, expired by the service itself", { timeout: 120_000 }, () => {
  let billing: TestBilling;
  const clock = new ManualClock();
  beforeAll(async () => {
    billing = await startTestBilling({
      label: "promo_sweep",
      clock,
      env: { BILLING_STARTER_FREE_OPERATIONS: "0", BILLING_LOW_BALANCE_THRESHOLD_CREDITS: "20" },
    });
  });
  afterAll(async () => billing?.close());

  const until = async (what: () => Promise<boolean>) => {
    const deadline = Date.now() + 20_000;
    while (!(await what())) {
      if (Date.now() > deadline) throw new Error("timed out");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  it("announces the expiry a day before, expires the remainder at expires_at, each once, with two instances sweeping", async () => {
    const wallet = billing.client("admin").wallet;
    const userRef = "sweep:1";
    await wallet.openAccount({ userRef });
    await wallet.grant({ userRef, amountCredits: 5n, reason: "bought", idempotencyKey: "sweep-buy" });
    const granted = await wallet.grant({
      userRef,
      amountCredits: 30n,
      reason: "welcome promo",
      idempotencyKey: "sweep-promo",
      expiresAt: timestampFromDate(new Date(clock.now().getTime() + 49 * HOUR_MS)),
      priority: 1,
    });
    const ledger = billing.server.context().ledger;
    const other = await Ledger.create(ledger.db, ledger.config, ledger.log, clock);
    let sweeping = true;
    const otherSweeps = (async () => {
      while (sweeping) {
        await other.announceExpiringLots(100);
        await other.expireDueLots(100);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const events = <K extends "creditsExpiring" | "creditsExpired" | "promoGranted">(kind: K) =>
      eventsOf(billing.database.url, userRef, kind);
    expect((await events("promoGranted")).map((e) => [e.lotId, e.amountCredits, e.priority])).toEqual([
      [granted.lotId, 30n, 1],
    ]);
    await wallet.charge({ userRef, operation: "generate", idempotencyKey: "sweep-charge" });

    clock.advance(25 * HOUR_MS + 1000);
    await until(async () => (await events("creditsExpiring")).length > 0);
    clock.advance(23 * HOUR_MS);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await events("creditsExpiring")).map((e) => [e.lotId, e.amountCredits])).toEqual([
      [granted.lotId, 20n],
    ]);

    clock.advance(2 * HOUR_MS);
    await until(async () => (await wallet.getBalance({ userRef })).creditsPromo === 0n);
    await new Promise((resolve) => setTimeout(resolve, 600));
    sweeping = false;
    await otherSweeps;
    expect((await events("creditsExpired")).map((e) => [e.lotId, e.amountCredits, e.cause])).toEqual([
      [granted.lotId, 20n, "lot_expired"],
    ]);
    const balance = await wallet.getBalance({ userRef });
    expect([balance.creditsAvailable, balance.creditsPurchased, balance.promoLots.length]).toEqual([
      5n,
      5n,
      0,
    ]);
    // 25 → 5 crossed the threshold of 20: announced once, as an expiry.
    const low = await eventsOf(billing.database.url, userRef, "balanceLow");
    expect(low.map((e) => [e.creditsAvailable, e.cause])).toEqual([[5n, "credits_expired"]]);
    // Operators see it too: the expired credits, counted once.
    expect(
      await metricValue(billing.metricsUrl, "billing_credits_expired_total", { cause: "lot_expired" }),
    ).toBe(20);
    expect((await ledger.verify([])).violations).toEqual([]);
  });
});

describe("promo lots and payments", { timeout: 120_000 }, () => {
  let env: BillingWithFake;
  beforeAll(async () => {
    env = await startBillingWithFake({
      label: "promo_payments",
      env: { BILLING_STARTER_FREE_OPERATIONS: "0" },
    });
  });
  afterAll(async () => env?.close());

  it("takes back only purchased credits for a payment refund, never promo credits", async () => {
    const wallet = env.billing.client("admin").wallet;
    const userRef = "paid:1";
    await wallet.openAccount({ userRef });
    const paymentId = await paidTopUp(env, userRef, "paid-1", 50n);
    for (const n of [1, 2, 3])
      await wallet.charge({ userRef, operation: "generate", idempotencyKey: `paid-charge-${n}` });
    const lotId = (
      await wallet.grant({
        userRef,
        amountCredits: 30n,
        reason: "promo",
        idempotencyKey: "paid-promo",
        expiresAt: timestampFromDate(new Date(Date.now() + HOUR_MS)),
      })
    ).lotId;
    const before = await wallet.getBalance({ userRef });
    expect([before.creditsAvailable, before.creditsPurchased, before.creditsPromo]).toEqual([50n, 20n, 30n]);
    // 50 credits are available, but only 20 of them were bought.
    const refused = await refundPaid(env, paymentId, "paid-refund", 50n).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(errorReason(refused)).toBe("CREDITS_ALREADY_SPENT");
    expect(await wallet.getBalance({ userRef })).toEqual(before);
    await env.billing.client("admin").payments.refundPayment({
      paymentId,
      amountMinor: 5000n,
      reason: "refund what is left",
      idempotencyKey: "paid-refund-forced",
      force: true,
    });
    const after = await wallet.getBalance({ userRef });
    expect([after.creditsAvailable, after.creditsPurchased, after.creditsPromo]).toEqual([30n, 0n, 30n]);
    expect(after.promoLots.map((lot) => [lot.lotId, lot.creditsAvailable])).toEqual([[lotId, 30n]]);
    expect((await env.billing.server.context().ledger.verify([])).violations).toEqual([]);
  });
});
