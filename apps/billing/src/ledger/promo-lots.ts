// Booking what expires among a user's promo lots (a due lot's remainder, value returned to an
// expired lot) as CREDITS_EXPIRED transfers to the expiry account, announced as
// billing.credits.expired. Every path that touches a user's lots calls it, so a due lot is never
// spent, whether the sweep, a charge or a refund reaches it first: the user's account lock lets
// exactly one of them expire it. It writes through a `LotBook`, which both stores provide (the batch
// session of the hot path, the ORM transaction of the cold paths).
import { available } from "./rules/balances.js";
import { expireLots, type ExpiredShare, isLotDue, type LotState } from "./rules/lots.js";
import type { AccountState } from "./rules/transfers.js";
import type { BatchSession } from "./store/batch-session.js";
import type { LotBook } from "./store/lot-book.js";
import type { LowBalance } from "./low-balance.js";

export type { LotBook };

/** Expires what is due among `lots` (one user's), from `credits` to `expiry`. Returns what expired. */
export function bookExpiries(
  book: LotBook,
  userRef: string,
  credits: AccountState,
  expiry: AccountState,
  lots: readonly LotState[],
): ExpiredShare[] {
  if (lots.length === 0) return [];
  const due = lots.filter((lot) => isLotDue(lot, book.now));
  const expired = expireLots(lots, book.now);
  const ids = new Set(expired.map((share) => share.lotId));
  book.lotsChanged([...due, ...lots.filter((lot) => ids.has(lot.id))]);
  for (const share of expired) {
    const transfer = book.move(
      "CREDITS_EXPIRED",
      "CREDITS",
      credits,
      expiry,
      { type: "posted", amount: share.amount },
      { userRef, reason: share.cause, lots: [share] },
    );
    book.observe({
      kind: "credits_expired",
      userRef,
      amount: share.amount,
      unit: "credits",
      transferId: transfer.id,
      cause: share.cause,
    });
    book.announce({
      kind: "creditsExpired",
      userRef,
      lotId: share.lotId,
      amountCredits: share.amount,
      transferId: transfer.id,
      cause: share.cause,
      creditsAvailable: available(credits),
    });
  }
  return expired;
}

/**
 * `bookExpiries` for a user of a batch session, to the session's expiry shard. With `lowBalance`, a
 * low-balance crossing is noticed (a resolution instead notices around the whole resolution: value
 * that returns to an expired lot and expires at once must not look like a fall).
 */
export function expireUserLots(
  session: BatchSession,
  userRef: string,
  expiryAccountId: bigint,
  lowBalance?: LowBalance,
): void {
  const accounts = session.userAccounts(userRef);
  const lots = session.userLots(userRef);
  if (accounts === undefined || lots.length === 0) return;
  const book = () => bookExpiries(session, userRef, accounts.credits, session.account(expiryAccountId), lots);
  if (lowBalance === undefined) book();
  else lowBalance.around(session, userRef, "credits_expired", book);
}
