// The promo-lot rules alone (no I/O): the spending order, draws that never exceed a lot, holds
// settled lot by lot, and what expires on a due lot and on value returned to an expired one.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  drawShares,
  expireLots,
  type LotState,
  lotAvailable,
  purchasedAvailable,
  settleReservation,
  spendingOrder,
  takeShares,
} from "../../src/ledger/rules/lots.js";

const NOW = new Date("2026-12-03T12:00:00Z");
const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);

function lot(id: string, balance: bigint, priority: number, expiresInMin: number, reserved = 0n): LotState {
  return {
    id,
    userRef: "u",
    grantedCredits: balance,
    balance,
    reserved,
    priority,
    expiresAt: at(expiresInMin),
    state: "ACTIVE",
    expiredAt: null,
    reason: "promo",
    createdAt: at(-60),
  };
}

describe("promo lot rules", () => {
  it("orders lots by priority, then earliest expiry, and skips due or empty ones", () => {
    const lots = [
      lot("a", 5n, 0, 30),
      lot("b", 5n, 2, 90),
      lot("c", 5n, 2, 60),
      lot("d", 0n, 9, 10),
      lot("e", 5n, 9, 0),
    ];
    expect(spendingOrder(lots, NOW).map((l) => l.id)).toEqual(["c", "b", "a"]);
  });

  it("draws what the lots can pay, in order, and leaves the rest to purchased credits", () => {
    const lots = [lot("a", 3n, 1, 30), lot("b", 4n, 0, 10, 1n)];
    expect(drawShares(lots, 10n, NOW)).toEqual([
      { lotId: "a", amount: 3n },
      { lotId: "b", amount: 3n },
    ]);
    expect(
      purchasedAvailable(
        { creditsPosted: 20n, debitsPosted: 0n, debitsPending: 1n, creditsPending: 0n },
        lots,
      ),
    ).toBe(13n);
  });

  it("never draws more than a lot has, whatever the lots and the amount", () => {
    const lotArb = fc.record({
      balance: fc.bigInt({ min: 0n, max: 50n }),
      reserved: fc.bigInt({ min: 0n, max: 50n }),
      priority: fc.integer({ min: 0, max: 3 }),
      expires: fc.integer({ min: -5, max: 100 }),
    });
    fc.assert(
      fc.property(fc.array(lotArb, { maxLength: 6 }), fc.bigInt({ min: 1n, max: 200n }), (specs, amount) => {
        const lots = specs.map((s, i) =>
          lot(`l${i}`, s.balance + s.reserved, s.priority, s.expires, s.reserved),
        );
        const shares = drawShares(lots, amount, NOW);
        const total = shares.reduce((sum, s) => sum + s.amount, 0n);
        const spendable = spendingOrder(lots, NOW).reduce((sum, l) => sum + lotAvailable(l), 0n);
        expect(total).toBe(amount < spendable ? amount : spendable);
        takeShares(new Map(lots.map((l) => [l.id, l])), shares, "spend");
        for (const l of lots) expect(l.balance).toBeGreaterThanOrEqual(l.reserved);
      }),
    );
  });

  it("settles a reservation: the posted part is spent lots first, the rest returns to its lots", () => {
    const a = lot("a", 4n, 1, 30, 4n);
    const b = lot("b", 10n, 0, 60, 6n);
    const lots = new Map([a, b].map((l) => [l.id, l]));
    const settled = settleReservation(
      lots,
      [
        { lotId: "a", amount: 4n },
        { lotId: "b", amount: 6n },
      ],
      7n,
    );
    expect(settled).toEqual({
      posted: [
        { lotId: "a", amount: 4n },
        { lotId: "b", amount: 3n },
      ],
      returned: [{ lotId: "b", amount: 3n }],
    });
    expect([a.balance, a.reserved, b.balance, b.reserved]).toEqual([0n, 0n, 7n, 0n]);
  });

  it("expires a due lot's free remainder, keeps what holds hold, and expires value that returns later", () => {
    const due = lot("due", 10n, 0, 0, 4n);
    expect(expireLots([due], NOW)).toEqual([{ lotId: "due", amount: 6n, cause: "lot_expired" }]);
    expect([due.state, due.balance, due.reserved]).toEqual(["EXPIRED", 4n, 4n]);
    settleReservation(new Map([["due", due]]), [{ lotId: "due", amount: 4n }], 1n);
    expect(expireLots([due], NOW)).toEqual([{ lotId: "due", amount: 3n, cause: "returned_after_expiry" }]);
    expect([due.balance, due.reserved]).toEqual([0n, 0n]);
    expect(expireLots([lot("later", 5n, 0, 1)], NOW)).toEqual([]);
  });
});
