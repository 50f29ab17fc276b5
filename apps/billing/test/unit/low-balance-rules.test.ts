// The low-balance rule alone (no I/O): at or above before and below after is a crossing; at the
// threshold is not below it; 0 never fires; the override wins over the default.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crossedBelow, lowBalanceEvent, thresholdOf } from "../../src/ledger/rules/low-balance.js";
import type { Balance } from "../../src/ledger/types.js";

const balance = (creditsAvailable: bigint): Balance => ({
  creditsAvailable,
  creditsReserved: 0n,
  freeOperationsAvailable: 0n,
  freeOperationsReserved: 0n,
});

describe("low-balance rule", () => {
  it("fires only from at-or-above to below", () => {
    expect(crossedBelow(20n, 19n, 20n)).toBe(true);
    expect(crossedBelow(30n, 20n, 20n)).toBe(false);
    expect(crossedBelow(19n, 9n, 20n)).toBe(false);
    expect(crossedBelow(10n, 30n, 20n)).toBe(false);
    expect(crossedBelow(5n, 0n, 0n)).toBe(false);
  });

  it("uses the override, else the default, and says whether the user topped up", () => {
    expect(thresholdOf({ lowBalanceThresholdCredits: null }, 20n)).toBe(20n);
    expect(thresholdOf({ lowBalanceThresholdCredits: 0n }, 20n)).toBe(0n);
    const change = { before: balance(50n), after: balance(40n), cause: "charge" };
    expect(lowBalanceEvent("u", { lowBalanceThresholdCredits: null }, 20n, change)).toBeUndefined();
    expect(lowBalanceEvent("u", { lowBalanceThresholdCredits: 45n, toppedUp: true }, 20n, change)).toEqual({
      kind: "balanceLow",
      userRef: "u",
      cause: "charge",
      thresholdCredits: 45n,
      toppedUp: true,
      ...balance(40n),
    });
  });

  it("along any walk, fires again only after the balance came back to the threshold", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 50n }),
        fc.array(fc.bigInt({ min: 0n, max: 100n }), { minLength: 2, maxLength: 60 }),
        (threshold, walk) => {
          const fired: number[] = [];
          for (let i = 1; i < walk.length; i++) {
            if (crossedBelow(walk[i - 1] ?? 0n, walk[i] ?? 0n, threshold)) fired.push(i);
          }
          // Between two announcements the balance was at or above the threshold again (re-armed).
          for (let f = 1; f < fired.length; f++) {
            const between = walk.slice(fired[f - 1], fired[f]);
            expect(between.some((value) => value >= threshold)).toBe(true);
          }
          // Every announced value is below the threshold; a walk that starts at or above it and ends
          // below it was announced at least once.
          for (const i of fired) expect((walk[i] ?? 0n) < threshold).toBe(true);
          if ((walk[0] ?? 0n) >= threshold && (walk.at(-1) ?? 0n) < threshold)
            expect(fired.length).toBeGreaterThan(0);
        },
      ),
    );
  });
});
