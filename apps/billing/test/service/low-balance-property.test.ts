// Property test of the low-balance watch: random sequences of charges, holds (reserve, commit,
// release), refunds, grants, paid top-ups, payment refunds and threshold changes on one user, against
// a reference model of the user's available credits. After each sequence the billing.balance.low
// events in the outbox are exactly the model's downward crossings (value after, threshold in force,
// topped-up flag), in order; the balance agrees with the model after every step.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestBilling } from "../support/helpers.js";
import { lowBalanceEvents, paidTopUp, refundPaid } from "../support/low-balance-helpers.js";
import { type BillingWithFake, startBillingWithFake } from "../support/payments-helpers.js";

const DEFAULT_THRESHOLD = 30n;
const PRICE = 10n;

type Step =
  | { type: "charge" }
  | { type: "reserve" }
  | { type: "commit"; hold: number }
  | { type: "release"; hold: number }
  | { type: "refund"; charge: number }
  | { type: "grant"; credits: bigint }
  | { type: "topUp"; credits: bigint }
  | { type: "paymentRefund"; payment: number }
  | { type: "threshold"; credits: bigint | undefined };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ type: "charge" as const }) },
  { weight: 3, arbitrary: fc.constant({ type: "reserve" as const }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("commit" as const), hold: fc.nat(10) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("release" as const), hold: fc.nat(10) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("refund" as const), charge: fc.nat(10) }) },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant("grant" as const), credits: fc.bigInt({ min: 1n, max: 40n }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant("topUp" as const), credits: fc.bigInt({ min: 10n, max: 40n }) }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("paymentRefund" as const), payment: fc.nat(5) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant("threshold" as const),
      credits: fc.option(fc.bigInt({ min: 0n, max: 60n }), { nil: undefined }),
    }),
  },
);

/** The reference model: the user's available credits, the threshold in force, the topped-up flag. */
interface Model {
  available: bigint;
  threshold: bigint;
  toppedUp: boolean;
  holds: { id: string; open: boolean }[];
  charges: { id: string; refunded: boolean }[];
  payments: { id: string; credits: bigint; refunded: boolean }[];
  crossings: { creditsAvailable: bigint; thresholdCredits: bigint; toppedUp: boolean }[];
}

describe("low-balance properties", () => {
  let env: BillingWithFake;
  let billing: TestBilling;
  beforeAll(async () => {
    env = await startBillingWithFake({
      label: "low_balance_prop",
      env: {
        BILLING_STARTER_FREE_OPERATIONS: "0",
        BILLING_LOW_BALANCE_THRESHOLD_CREDITS: DEFAULT_THRESHOLD.toString(),
      },
    });
    billing = env.billing;
  });
  afterAll(async () => env?.close());

  it("announces exactly the model's downward crossings", { timeout: 300_000 }, async () => {
    const admin = billing.client("admin").wallet;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 25 }), async (steps) => {
        run++;
        const userRef = `lbprop:${run}`;
        const key = (n: number) => `lbprop:${run}:${n}`;
        await admin.openAccount({ userRef });
        const model: Model = {
          available: 0n,
          threshold: DEFAULT_THRESHOLD,
          toppedUp: false,
          holds: [],
          charges: [],
          payments: [],
          crossings: [],
        };
        /** Moves the model's balance and records a crossing of the threshold in force. */
        const lower = (amount: bigint) => {
          const before = model.available;
          model.available -= amount;
          if (before >= model.threshold && model.available < model.threshold)
            model.crossings.push({
              creditsAvailable: model.available,
              thresholdCredits: model.threshold,
              toppedUp: model.toppedUp,
            });
        };
        for (const [n, s] of steps.entries()) {
          switch (s.type) {
            case "charge":
            case "reserve": {
              const paid = model.available >= PRICE;
              const call =
                s.type === "charge"
                  ? admin.charge({ userRef, operation: "generate", idempotencyKey: key(n) }).then((r) => {
                      model.charges.push({ id: r.transferId, refunded: false });
                    })
                  : admin
                      .reserve({ userRef, operation: "generate", idempotencyKey: key(n) })
                      .then((r) => void model.holds.push({ id: r.hold?.holdId ?? "", open: true }));
              const ok = await call.then(
                () => true,
                () => false,
              );
              expect(ok).toBe(paid);
              if (paid) lower(PRICE);
              break;
            }
            case "commit":
            case "release": {
              const hold = model.holds.filter((h) => h.open)[s.hold];
              if (hold === undefined) break;
              if (s.type === "commit") await billing.client("worker").wallet.commit({ holdId: hold.id });
              else {
                await admin.release({ holdId: hold.id, reason: "prop" });
                model.available += PRICE;
              }
              hold.open = false;
              break;
            }
            case "refund": {
              const charge = model.charges.filter((c) => !c.refunded)[s.charge];
              if (charge === undefined) break;
              await admin.refund({
                target: { case: "transferId", value: charge.id },
                idempotencyKey: key(n),
              });
              charge.refunded = true;
              model.available += PRICE;
              break;
            }
            case "grant":
              await admin.grant({
                userRef,
                amountCredits: s.credits,
                reason: "prop",
                idempotencyKey: key(n),
              });
              model.available += s.credits;
              break;
            case "topUp":
              model.payments.push({
                id: await paidTopUp(env, userRef, key(n), s.credits),
                credits: s.credits,
                refunded: false,
              });
              model.available += s.credits;
              model.toppedUp = true;
              break;
            case "paymentRefund": {
              const payment = model.payments.filter((p) => !p.refunded)[s.payment];
              if (payment === undefined) break;
              const enough = model.available >= payment.credits;
              const ok = await refundPaid(env, payment.id, key(n), payment.credits).then(
                () => true,
                () => false,
              );
              expect(ok).toBe(enough);
              if (ok) {
                payment.refunded = true;
                lower(payment.credits);
              }
              break;
            }
            case "threshold": {
              const answer = await billing.client("admin").wallet.setLowBalanceThreshold({
                userRef,
                ...(s.credits === undefined ? {} : { thresholdCredits: s.credits }),
                idempotencyKey: key(n),
              });
              model.threshold = s.credits ?? DEFAULT_THRESHOLD;
              expect(answer.thresholdCredits).toBe(model.threshold);
              break;
            }
          }
          expect((await admin.getBalance({ userRef })).creditsAvailable).toBe(model.available);
        }
        const events = await lowBalanceEvents(billing.database.url, userRef);
        expect(
          events.map((e) => ({
            creditsAvailable: e.creditsAvailable,
            thresholdCredits: e.thresholdCredits,
            toppedUp: e.toppedUp,
          })),
        ).toEqual(model.crossings);
      }),
      { numRuns: 30, interruptAfterTimeLimit: 200_000 },
    );
    expect(await admin.verifyLedger({})).toMatchObject({ ok: true });
  });
});
