// When a user's credits fall below their low-balance threshold: edge-triggered, once per downward
// crossing. Stateless: a mutation crosses when the available credits were at or above the threshold
// before it and are below it after. That is exact because the mutations of one account are
// serialized (its row is locked, and a batch applies its commands one after the other to the same
// in-memory account), so every mutation sees the "after" of the previous one as its "before"; a
// balance that rises back to the threshold re-arms the watch with no state to reset. No I/O.
import type { DomainEvent } from "../../domain/events.js";
import type { Balance } from "../types.js";

/** Largest threshold an admin may set (the same bound as a grant). */
export const LOW_BALANCE_THRESHOLD_MAX_CREDITS = 1_000_000_000n;

/** What the account row of a user's credits carries for the watch. */
export interface LowBalanceWatch {
  /** An admin's override; null (or absent on system accounts' rows) = the configured default. */
  readonly lowBalanceThresholdCredits?: bigint | null | undefined;
  /** A top-up has landed on the account once. */
  readonly toppedUp?: boolean | undefined;
}

/** The threshold in force: the override, else the default. 0 never fires (credits never go below 0). */
export function thresholdOf(watch: LowBalanceWatch, defaultCredits: bigint): bigint {
  return watch.lowBalanceThresholdCredits ?? defaultCredits;
}

export function crossedBelow(beforeCredits: bigint, afterCredits: bigint, thresholdCredits: bigint): boolean {
  return beforeCredits >= thresholdCredits && afterCredits < thresholdCredits;
}

/**
 * billing.balance.low if the user's available credits crossed below the threshold between `before`
 * and `after` (the user's Balance around one mutation); undefined otherwise.
 */
export function lowBalanceEvent(
  userRef: string,
  watch: LowBalanceWatch,
  defaultThresholdCredits: bigint,
  change: { before: Balance; after: Balance; cause: string },
): DomainEvent | undefined {
  const thresholdCredits = thresholdOf(watch, defaultThresholdCredits);
  if (!crossedBelow(change.before.creditsAvailable, change.after.creditsAvailable, thresholdCredits))
    return undefined;
  return {
    kind: "balanceLow",
    userRef,
    cause: change.cause,
    thresholdCredits,
    toppedUp: watch.toppedUp ?? false,
    ...change.after,
  };
}
