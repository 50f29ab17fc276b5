// GetBalance(as_of) through a real server: the balance as it was at an instant, exact for available
// and reserved credits and free operations, at the instants between calls and at the very
// microsecond each transfer was booked; final once answered, even while charges are in flight.
import { type BillingClient } from "@billing/client";
import { Asset, type Transaction } from "@billing/proto/billing/v1/wallet_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBilling, type TestBilling } from "../support/helpers.js";
import { databaseMicros, microsOf, timestampOf } from "../support/instants.js";
import { refusalOf } from "../support/refusal.js";

type Four = [bigint, bigint, bigint, bigint];
const four = (b: {
  creditsAvailable: bigint;
  creditsReserved: bigint;
  freeOperationsAvailable: bigint;
  freeOperationsReserved: bigint;
}): Four => [b.creditsAvailable, b.creditsReserved, b.freeOperationsAvailable, b.freeOperationsReserved];

describe("GetBalance as_of", () => {
  let billing: TestBilling;
  let wallet: BillingClient["wallet"];
  beforeAll(async () => {
    billing = await startTestBilling({ label: "as_of" });
    wallet = billing.client("admin").wallet;
  });
  afterAll(async () => billing?.close());

  const now = () => databaseMicros(billing.server.context().ledger.db.reader());
  const asOf = async (userRef: string, at: bigint) =>
    four(await wallet.getBalance({ userRef, asOf: timestampOf(at) }));
  /** Every entry of the user's statement, oldest first. */
  const history = async (userRef: string): Promise<Transaction[]> => {
    const entries: Transaction[] = [];
    let pageToken = "";
    for (let page = 0; page < 1_000; page++) {
      const answer = await wallet.listTransactions({ userRef, pageSize: 100, pageToken });
      entries.push(...answer.transactions);
      if (answer.nextPageToken === "") return entries.reverse();
      pageToken = answer.nextPageToken;
    }
    throw new Error("statement longer than the test expects");
  };

  it("answers every past balance exactly: available and reserved, credits and free operations", async () => {
    const userRef = "asof:steps";
    const beforeAccount = await now();
    await wallet.openAccount({ userRef });
    /** After each step: an instant and the balance a reader saw then. */
    const seen: { at: bigint; balance: Four }[] = [];
    const record = async () => {
      const balance = four(await wallet.getBalance({ userRef }));
      seen.push({ at: await now(), balance });
    };
    await record();
    const charge = (key: string) => wallet.charge({ userRef, operation: "generate", idempotencyKey: key });
    const freeCharge = await charge("s1");
    await record();
    const freeHold = await wallet.reserve({ userRef, operation: "generate", idempotencyKey: "s2" });
    await record();
    await wallet.grant({
      userRef,
      amountCredits: 100n,
      freeOperations: 1n,
      reason: "promo",
      idempotencyKey: "s3",
    });
    await record();
    for (const key of ["s4", "s5", "s6"]) {
      await charge(key);
      await record();
    }
    const creditHold = await wallet.reserve({ userRef, operation: "generate", idempotencyKey: "s7" });
    await record();
    const otherHold = await wallet.reserve({ userRef, operation: "edit", idempotencyKey: "s8" });
    await record();
    await wallet.commit({ holdId: creditHold.hold?.holdId ?? "", amountCredits: 4n });
    await record();
    await wallet.release({ holdId: freeHold.hold?.holdId ?? "", reason: "failed" });
    await record();
    await wallet.refund({
      target: { case: "transferId", value: freeCharge.transferId },
      reason: "sorry",
      idempotencyKey: "s9",
    });
    await record();
    await wallet.release({ holdId: otherHold.hold?.holdId ?? "", reason: "failed" });
    await record();

    // The states the steps went through, with holds on both assets among them.
    expect(seen.map((s) => s.balance)).toContainEqual([90n, 10n, 0n, 1n]);
    for (const { at, balance } of seen) expect(await asOf(userRef, at)).toEqual(balance);
    // Before the account's first transfer it held nothing.
    expect(await asOf(userRef, beforeAccount)).toEqual([0n, 0n, 0n, 0n]);

    // At the microsecond a transfer was booked it counts; one microsecond earlier it does not.
    const entries = await history(userRef);
    for (const asset of [Asset.CREDITS, Asset.FREE_OPERATIONS]) {
      const index = asset === Asset.CREDITS ? 0 : 2;
      let previous = 0n;
      for (const entry of entries.filter((e) => e.asset === asset)) {
        const booked = microsOf(entry.bookedAt);
        expect((await asOf(userRef, booked))[index]).toBe(entry.balanceAfter);
        expect((await asOf(userRef, booked - 1n))[index]).toBe(previous);
        previous = entry.balanceAfter;
      }
    }
  });

  it("a past answer is final: the same while charges are in flight and after they landed", async () => {
    const userRef = "asof:busy";
    await wallet.openAccount({ userRef });
    await wallet.grant({ userRef, amountCredits: 10_000n, reason: "load", idempotencyKey: "b0" });
    const answered: { at: bigint; balance: Four }[] = [];
    let charging = true;
    const charges = (async () => {
      for (let wave = 0; wave < 8; wave++) {
        await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            wallet.charge({ userRef, operation: "generate", idempotencyKey: `b-${wave}-${i}` }),
          ),
        );
      }
      charging = false;
    })();
    const reads = (async () => {
      for (let read = 0; read < 200 && (charging || read < 5); read++) {
        const at = await now();
        answered.push({ at, balance: await asOf(userRef, at) });
      }
    })();
    await Promise.all([charges, reads]);
    expect(answered.length).toBeGreaterThanOrEqual(5);

    const entries = await history(userRef);
    for (const { at, balance } of answered) {
      expect(await asOf(userRef, at)).toEqual(balance);
      // ...and it is the balance after the last entry booked by then.
      const last = entries.filter((e) => e.asset === Asset.CREDITS && microsOf(e.bookedAt) <= at).at(-1);
      expect(balance[0]).toBe(last?.balanceAfter ?? 0n);
    }
    // 80 charges: the 4 starter free operations, then 76 paid with 10 credits each.
    expect(four(await wallet.getBalance({ userRef }))).toEqual([10_000n - 76n * 10n, 0n, 0n, 0n]);
  });

  it("refuses an instant after the ledger's clock or out of range, and an unknown user", async () => {
    const userRef = "asof:edges";
    await wallet.openAccount({ userRef });
    expect(
      await refusalOf(wallet.getBalance({ userRef, asOf: timestampOf((await now()) + 60_000_000n) })),
    ).toEqual({
      code: "InvalidArgument",
      reason: "INVALID_FIELD",
      fields: { as_of: expect.stringContaining("after the ledger's clock") },
    });
    expect(
      await refusalOf(wallet.getBalance({ userRef, asOf: { seconds: 1n, nanos: 1_000_000_000 } })),
    ).toMatchObject({
      code: "InvalidArgument",
      fields: { as_of: expect.any(String) },
    });
    expect(
      await refusalOf(wallet.getBalance({ userRef: "asof:nobody", asOf: timestampOf(await now()) })),
    ).toMatchObject({
      code: "NotFound",
      reason: "ACCOUNT_NOT_FOUND",
    });
  });
});
