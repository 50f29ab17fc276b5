// Property test: random sequences of ledger commands, some concurrent, against the real PostgreSQL.
// After every step every invariant of ledger-semantics.md must hold (VerifyLedger recomputes them
// from the transfers), a simple reference model must agree with every answer, and a rejected
// request must leave the database byte-identical. Promo lots come and expire among the commands:
// the model picks the lots a charge or hold draws on (priority, then expiry), and every
// GetBalance(as_of = t) must equal the balance the run observed at t.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainError } from "../../src/domain/errors.js";
import type { Ledger } from "../../src/ledger/ledger.js";
import type { Balance, LotState } from "../../src/ledger/types.js";
import { withPg } from "@billing/testkit";
import { sharesOf } from "../support/lot-helpers.js";
import { ManualClock, startTestBilling, type TestBilling, ledgerSnapshot } from "../support/helpers.js";
import { databaseMicros } from "../support/instants.js";

const OPERATIONS = ["generate", "edit", "add_text"] as const;
const PRICE: Record<(typeof OPERATIONS)[number], bigint> = { generate: 10n, edit: 10n, add_text: 0n };

type Command =
  | { type: "charge"; user: number; operation: (typeof OPERATIONS)[number]; key: number }
  | { type: "reserve"; user: number; operation: (typeof OPERATIONS)[number]; key: number; timeoutS: number }
  | { type: "commit"; hold: number; part: boolean }
  | { type: "release"; hold: number }
  | { type: "refund"; charge: number; key: number }
  | { type: "grant"; user: number; credits: bigint; free: bigint; key: number }
  | { type: "promo"; user: number; credits: bigint; inS: number; priority: number; key: number }
  | { type: "advance"; seconds: number }
  | { type: "concurrent"; commands: Command[] };

const user = fc.integer({ min: 0, max: 1 });
const key = fc.integer({ min: 0, max: 40 });
const operation = fc.constantFrom(...OPERATIONS);
// Small lots, so that charges and holds often draw on several of them.
const promoGrant = fc.record({
  type: fc.constant("promo" as const),
  user,
  credits: fc.bigInt({ min: 1n, max: 12n }),
  inS: fc.integer({ min: 5, max: 90 }),
  priority: fc.integer({ min: 0, max: 2 }),
  key,
});
const simple: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant("charge" as const), user, operation, key }) },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant("reserve" as const),
      user,
      operation,
      key,
      timeoutS: fc.integer({ min: 5, max: 60 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ type: fc.constant("commit" as const), hold: fc.nat(20), part: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("release" as const), hold: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("refund" as const), charge: fc.nat(20), key }) },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant("grant" as const),
      user,
      credits: fc.bigInt({ min: 0n, max: 40n }),
      free: fc.bigInt({ min: 0n, max: 2n }),
      key,
    }),
  },
  { weight: 2, arbitrary: promoGrant },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant("advance" as const), seconds: fc.integer({ min: 1, max: 40 }) }),
  },
);
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: simple },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant("concurrent" as const),
      commands: fc.array(simple, { minLength: 2, maxLength: 6 }),
    }),
  },
);

describe("ledger properties", () => {
  let billing: TestBilling;
  const clock = new ManualClock();
  let ledger: Ledger;
  beforeAll(async () => {
    // A long sweep interval: expiry happens on late resolutions and on explicit sweeps in the test.
    // One starter free operation and two users, so short sequences reach the interesting states.
    billing = await startTestBilling({
      label: "ledger_prop",
      clock,
      systemShards: 2,
      env: { BILLING_HOLD_SWEEP_INTERVAL_MS: "600000", BILLING_STARTER_FREE_OPERATIONS: "1" },
    });
    ledger = billing.server.context().ledger;
  });
  afterAll(async () => billing?.close());

  const snapshot = () => ledgerSnapshot(billing.database.url);

  it("keeps every invariant under random command sequences", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(promoGrant, { minLength: 2, maxLength: 5 }),
        fc.array(command, { minLength: 8, maxLength: 30 }),
        async (promos, rest) => {
          const commands: Command[] = [...promos, ...rest];
          run++;
          const users = [0, 1].map((u) => `prop:${run}:${u}`);
          const holds: string[] = [];
          const charges: string[] = [];
          /** Each idempotency key that succeeded: the request it carried and what it answered. */
          const keys = new Map<string, { signature: string; answer: unknown }>();
          for (const u of users) await ledger.openAccount(u);
          /** The as-of model: after each step, an instant (database clock) and each user's balance then. */
          const timeline: { at: bigint; balances: Balance[] }[] = [];
          /** The model's record of each lot granted: what orders it. */
          const lotOrder = new Map<string, { priority: number; expiresAt: number }>();

          const execute = async (
            c: Command,
          ): Promise<{
            rejected: boolean;
            reason?: string;
            answer?: unknown;
            balance?: Balance;
            userRef?: string;
          }> => {
            const keyOf = (k: number) => `prop:${run}:${c.type}:${k}`;
            try {
              switch (c.type) {
                case "charge": {
                  const request = {
                    userRef: users[c.user]!,
                    operation: c.operation,
                    idempotencyKey: keyOf(c.key),
                    reference: "",
                  };
                  const result = await ledger.charge(request);
                  if (result.transferId !== "") charges.push(result.transferId);
                  return {
                    rejected: false,
                    answer: result,
                    balance: result.balance,
                    userRef: request.userRef,
                  };
                }
                case "reserve": {
                  const result = await ledger.reserve({
                    userRef: users[c.user]!,
                    operation: c.operation,
                    idempotencyKey: keyOf(c.key),
                    timeoutMs: c.timeoutS * 1000,
                    jobId: "",
                  });
                  holds.push(result.hold.holdId);
                  return {
                    rejected: false,
                    answer: result,
                    balance: result.balance,
                    userRef: result.hold.userRef,
                  };
                }
                case "commit": {
                  const holdId = holds[c.hold % Math.max(holds.length, 1)];
                  if (holdId === undefined) return { rejected: false };
                  const result = await ledger.commit({ holdId, amountCredits: c.part ? 1n : undefined });
                  if (result.hold.postedTransferId !== "") charges.push(result.hold.postedTransferId);
                  return { rejected: false };
                }
                case "release": {
                  const holdId = holds[c.hold % Math.max(holds.length, 1)];
                  if (holdId === undefined) return { rejected: false };
                  await ledger.release({ holdId, reason: "prop" });
                  return { rejected: false };
                }
                case "refund": {
                  const transferId = charges[c.charge % Math.max(charges.length, 1)];
                  if (transferId === undefined) return { rejected: false };
                  await ledger.refund({
                    target: { transferId },
                    reason: "prop",
                    idempotencyKey: keyOf(c.key),
                  });
                  return { rejected: false };
                }
                case "grant": {
                  if (c.credits === 0n && c.free === 0n) return { rejected: false };
                  const result = await ledger.grant({
                    userRef: users[c.user]!,
                    amountCredits: c.credits,
                    freeOperations: c.free,
                    reason: "prop",
                    idempotencyKey: keyOf(c.key),
                  });
                  if (!keys.has(`grant:${c.key}`))
                    keys.set(`grant:${c.key}`, {
                      signature: `${c.user}:${c.credits}:${c.free}`,
                      answer: result,
                    });
                  return { rejected: false, balance: result.balance, userRef: users[c.user]! };
                }
                case "promo": {
                  const expiresAt = clock.now().getTime() + c.inS * 1000;
                  const result = await ledger.grant({
                    userRef: users[c.user]!,
                    amountCredits: c.credits,
                    freeOperations: 0n,
                    reason: "prop promo",
                    idempotencyKey: keyOf(c.key),
                    promo: { expiresAt: new Date(expiresAt), priority: c.priority },
                  });
                  if (!lotOrder.has(result.lotId))
                    lotOrder.set(result.lotId, { priority: c.priority, expiresAt });
                  return { rejected: false };
                }
                case "advance":
                  clock.advance(c.seconds * 1000);
                  await ledger.expireDueHolds(100);
                  await ledger.expireDueLots(100);
                  return { rejected: false };
                case "concurrent": {
                  const outcomes = await Promise.all(c.commands.map((inner) => execute(inner)));
                  c.commands.forEach((inner, i) => {
                    const result = outcomes[i];
                    if (
                      (inner.type === "charge" || inner.type === "reserve") &&
                      result !== undefined &&
                      !result.rejected
                    ) {
                      const keyName = `${inner.type}:${inner.key}`;
                      const signature = `${inner.user}:${inner.operation}:${inner.type === "reserve" ? inner.timeoutS : ""}`;
                      if (!keys.has(keyName)) keys.set(keyName, { signature, answer: result.answer });
                    }
                  });
                  return { rejected: false };
                }
              }
            } catch (error) {
              if (!(error instanceof DomainError)) throw error;
              return { rejected: true, reason: error.reason };
            }
          };

          for (const c of commands) {
            const before = c.type === "concurrent" || c.type === "advance" ? undefined : await snapshot();
            const beforeDetails =
              c.type === "charge" || c.type === "reserve"
                ? await ledger.balanceDetails(users[c.user]!)
                : undefined;
            const beforeBalances = beforeDetails?.balance;
            const keysBefore = new Set(keys.keys());
            const outcome = await execute(c);
            if (outcome.rejected && before !== undefined) {
              // A rejected request changes nothing (commit/release of an expired hold expire it first:
              // that is the service's own action, so those are excluded).
              const expiredOnTheWay = c.type === "commit" || c.type === "release";
              if (!expiredOnTheWay) expect(await snapshot()).toBe(before);
            }
            if ((c.type === "charge" || c.type === "reserve") && beforeBalances !== undefined) {
              // The reference model: a key already used answers the same for the same request and is
              // refused for another; otherwise a free operation pays first, then credits, and an
              // operation priced 0 always succeeds.
              const keyName = `${c.type}:${c.key}`;
              const signature = `${c.user}:${c.operation}:${c.type === "reserve" ? c.timeoutS : ""}`;
              const earlier = keys.get(keyName);
              const price = PRICE[c.operation];
              const affordable =
                price === 0n ||
                beforeBalances.freeOperationsAvailable > 0n ||
                beforeBalances.creditsAvailable >= price;
              if (earlier !== undefined && earlier.signature === signature) {
                expect(outcome.answer).toEqual(earlier.answer);
              } else if (earlier !== undefined) {
                expect(outcome.reason).toBe("IDEMPOTENCY_KEY_REUSED");
              } else {
                expect(outcome.rejected ? outcome.reason : "ok").toBe(
                  affordable ? "ok" : "INSUFFICIENT_FUNDS",
                );
                if (!outcome.rejected) keys.set(keyName, { signature, answer: outcome.answer });
                if (!outcome.rejected && beforeDetails !== undefined)
                  await expectModelShares(outcome.answer, beforeDetails.promoLots, price);
              }
            }
            const replayed =
              (c.type === "charge" || c.type === "reserve" || c.type === "grant") &&
              keysBefore.has(`${c.type}:${c.key}`);
            if (outcome.balance !== undefined && outcome.userRef !== undefined && !replayed) {
              // A fresh answer's balance is the balance now (nothing else ran in between).
              expect(outcome.balance).toEqual(await ledger.getBalance(outcome.userRef));
            }
            const report = await billing.server.context().ledger.verify([]);
            expect(report.violations).toEqual([]);
            for (const u of users) {
              const details = await ledger.balanceDetails(u);
              expect(details.balance.creditsAvailable).toBeGreaterThanOrEqual(0n);
              expect(details.balance.freeOperationsAvailable).toBeGreaterThanOrEqual(0n);
              // Nothing due is left unexpired (the clock moves only with a sweep), so the split is whole.
              expect(details.creditsPurchased).toBeGreaterThanOrEqual(0n);
              expect(details.creditsPurchased + details.creditsPromo).toBe(details.balance.creditsAvailable);
              for (const lot of details.promoLots)
                expect(lot.expiresAt.getTime()).toBeGreaterThan(clock.now().getTime());
            }
            timeline.push({
              at: await databaseMicros(ledger.db.reader()),
              balances: await Promise.all(users.map((u) => ledger.getBalance(u))),
            });
          }
          /** The model's spending order: lots by priority, then expiry, then purchased credits. */
          async function expectModelShares(answer: unknown, lotsBefore: readonly LotState[], price: bigint) {
            const result = answer as {
              transferId?: string;
              hold?: { holdId: string; fundedBy: string };
              fundedBy?: string;
            };
            if ((result.fundedBy ?? result.hold?.fundedBy) !== "CREDITS") return;
            const transferId =
              result.transferId ??
              (await withPg(billing.database.url, async (pg) => {
                const { rows } = await pg.query<{ id: string }>(
                  `select pending_transfer_id::text as id from ledger_holds where id = $1`,
                  [result.hold?.holdId],
                );
                return rows[0]?.id ?? "";
              }));
            const ordered = [...lotsBefore].sort((a, b) => {
              const x = lotOrder.get(a.id)!;
              const y = lotOrder.get(b.id)!;
              return (
                y.priority - x.priority ||
                x.expiresAt - y.expiresAt ||
                a.createdAt.getTime() - b.createdAt.getTime() ||
                (a.id < b.id ? -1 : 1)
              );
            });
            const expected: { lot: string; amount: bigint }[] = [];
            let owed = price;
            for (const lot of ordered) {
              const free = lot.balance - lot.reserved;
              const take = free < owed ? free : owed;
              if (take > 0n) expected.push({ lot: lot.id, amount: take });
              owed -= take;
            }
            expect(await sharesOf(billing.database.url, transferId)).toEqual(expected);
          }

          // GetBalance(as_of = t) is the model's balance at t, for every t the run went through.
          for (const { at, balances } of timeline) {
            expect(await Promise.all(users.map((u) => ledger.balanceAsOf(u, at)))).toEqual(balances);
          }
        },
      ),
      { numRuns: 30, interruptAfterTimeLimit: 150_000 },
    );
  }, 200_000);
});
