// The low-balance watch of the ledger: the one hook every path that lowers a user's credits calls
// with the user's Balance before and after (rules/low-balance.ts decides), and the admin's override
// of the threshold. A new path that lowers credits (e.g. expiring a promo lot) calls `notice`, or
// wraps its work in `around` on a batch session, and nothing else.
import type { DomainEvent } from "../domain/events.js";
import { type LowBalanceWatch, lowBalanceEvent, thresholdOf } from "./rules/low-balance.js";
import { balanceOf } from "./rules/views.js";
import type { LockedAccounts } from "./store/accounts.js";
import type { BatchSession } from "./store/batch-session.js";
import type { Balance } from "./types.js";

/** Writes an event in the transaction of the mutation (session.announce, or recordEvent on a tx). */
export type Announce = (event: DomainEvent) => void;

/** What SetLowBalanceThreshold asks: a threshold, or null for the configured default. */
export interface SetLowBalanceThresholdCommand {
  userRef: string;
  thresholdCredits: bigint | null;
  idempotencyKey: string;
}

export interface LowBalanceThresholdResult {
  /** The threshold in force now. */
  thresholdCredits: bigint;
  /** True when it is the configured default (no override). */
  isDefault: boolean;
  balance: Balance;
}

export class LowBalance {
  constructor(readonly defaultThresholdCredits: bigint) {}

  /**
   * The hook: announces billing.balance.low if the user's credits crossed below their threshold
   * between `before` and `after`. `credits` is the user's (locked) CREDITS account, which carries
   * the threshold override and the topped-up flag.
   */
  notice(
    announce: Announce,
    credits: LowBalanceWatch & { readonly ownerRef: string },
    change: { before: Balance; after: Balance; cause: string },
  ): void {
    const event = lowBalanceEvent(credits.ownerRef, credits, this.defaultThresholdCredits, change);
    if (event !== undefined) announce(event);
  }

  /** Runs `work` (which may lower `userRef`'s balance in the session) and notices a crossing. */
  around<T>(session: BatchSession, userRef: string, cause: string, work: () => T): T {
    const accounts = session.userAccounts(userRef);
    // Without accounts the work refuses (ACCOUNT_NOT_FOUND); a refused work throws past the notice.
    if (accounts === undefined) return work();
    const before = balanceOf(accounts);
    const result = work();
    this.notice((event) => session.announce(event), accounts.credits, {
      before,
      after: balanceOf(accounts),
      cause,
    });
    return result;
  }

  /** Sets (or, with null, clears) the override on the user's locked accounts. */
  setThreshold(locked: LockedAccounts, thresholdCredits: bigint | null): LowBalanceThresholdResult {
    locked.credits.lowBalanceThresholdCredits = thresholdCredits;
    return {
      thresholdCredits: thresholdOf(locked.credits, this.defaultThresholdCredits),
      isDefault: thresholdCredits === null,
      balance: balanceOf(locked),
    };
  }
}
