// Commit, Release and expiry of holds on a batch session: the rules decide, and one transfer posts
// or voids the pending amount on the accounts that hold it. Value that returns to the user is
// announced (billing.balance.changed); an expiry is announced as billing.hold.expired. A hold's
// promo-lot reservation is settled lot by lot: what is posted is spent from them, what returns goes
// back to them, and what returns to a lot that expired meanwhile expires at once (promo-lots.ts).
import type { DomainEvent } from "../domain/events.js";
import { type CallerScope, SYSTEM_SCOPE } from "../observability/effects.js";
import { holdResolutionEffect } from "./effects.js";
import { assertHoldExpected, type HoldExpectation } from "./rules/hold-expectation.js";
import { holdNotFound } from "./rules/errors.js";
import { type LotShare, settleReservation } from "./rules/lots.js";
import { expireUserLots } from "./promo-lots.js";
import { decideResolution, expiredRefusal, movesValue, type ResolutionRequest } from "./rules/holds.js";
import { balanceOf, holdView } from "./rules/views.js";
import { FUNDING_ASSET } from "./spending.js";
import type { BatchSession } from "./store/batch-session.js";
import type { HoldState } from "./store/rows.js";
import type { HoldResult } from "./types.js";

export type Resolution = {
  readonly holdId: string;
  /** Checked first, on the locked hold: a mismatch is refused before anything else is looked at. */
  readonly expected?: HoldExpectation | undefined;
  /** The caller's scope, captured at submit (a batch resolves many callers' holds together). */
  readonly scope?: CallerScope | undefined;
} & ResolutionRequest;

/** Resolves one locked hold as asked; a hold found past its timeout is expired, then refused. */
export function resolve(session: BatchSession, resolution: Resolution, expiryAccountId: bigint): HoldResult {
  const hold = session.holds.get(resolution.holdId);
  if (hold === undefined) throw holdNotFound(resolution.holdId);
  assertHoldExpected(hold, resolution.expected);
  const decision = decideResolution(hold, resolution, session.now);
  switch (decision.kind) {
    case "expire":
      // Kept when the batch commits, although this request is refused.
      expire(session, hold, expiryAccountId);
      throw expiredRefusal(hold);
    case "unchanged":
      return answer(session, hold);
    case "post":
    case "void":
      break;
  }
  if (movesValue(hold)) {
    const asset = FUNDING_ASSET[hold.fundedBy];
    const { debit, credit } = heldOn(session, hold, asset);
    const lots = settleLots(session, hold, decision.kind === "post" ? decision.amount : 0n);
    const transfer =
      decision.kind === "post"
        ? session.move(
            "HOLD_POSTED",
            asset,
            debit,
            credit,
            { type: "post_pending", amount: decision.amount, pendingAmount: hold.amount },
            { ...metaOf(hold), lots: lots.posted },
          )
        : session.move(
            "HOLD_VOIDED",
            asset,
            debit,
            credit,
            { type: "void_pending", amount: hold.amount },
            { ...metaOf(hold), reason: decision.reason, lots: lots.returned },
          );
    hold.resolutionTransferId = transfer.id;
    expireUserLots(session, hold.userRef, expiryAccountId);
  }
  hold.state = decision.kind === "post" ? "POSTED" : "VOIDED";
  hold.postedAmount = decision.kind === "post" ? (movesValue(hold) ? decision.amount : 0n) : null;
  hold.resolutionReason = decision.kind === "void" ? decision.reason : null;
  hold.resolvedAt = session.now;
  session.changed(hold);
  session.observe(holdResolutionEffect(hold), resolution.scope ?? SYSTEM_SCOPE);
  // Spending the caller asked for is answered to the caller; giving value back is announced.
  if (decision.kind === "void" && movesValue(hold)) announceBalance(session, hold.userRef, "hold_voided");
  return answer(session, hold);
}

/** Voids a pending hold whose timeout passed, records it as expired and announces hold.expired. */
export function expire(session: BatchSession, hold: HoldState, expiryAccountId: bigint): void {
  if (movesValue(hold)) {
    const asset = FUNDING_ASSET[hold.fundedBy];
    const { debit, credit } = heldOn(session, hold, asset);
    const lots = settleLots(session, hold, 0n);
    hold.resolutionTransferId = session.move(
      "HOLD_EXPIRED",
      asset,
      debit,
      credit,
      { type: "void_pending", amount: hold.amount },
      { ...metaOf(hold), reason: "expired", lots: lots.returned },
    ).id;
    expireUserLots(session, hold.userRef, expiryAccountId);
    announceBalance(session, hold.userRef, "hold_expired");
  }
  hold.state = "EXPIRED";
  hold.resolutionReason = "expired";
  hold.resolvedAt = session.now;
  session.changed(hold);
  session.observe(holdResolutionEffect(hold), SYSTEM_SCOPE);
  session.announce({
    kind: "holdExpired",
    userRef: hold.userRef,
    holdId: hold.id,
    operation: hold.operation,
    jobId: hold.jobId ?? "",
    amountCredits: hold.fundedBy === "CREDITS" ? hold.amount : 0n,
    amountFreeOperations: hold.fundedBy === "FREE_OPERATION" ? hold.amount : 0n,
  });
}

/** Settles the hold's promo-lot reservation: `postedAmount` of it spent, the rest returned. */
function settleLots(
  session: BatchSession,
  hold: HoldState,
  postedAmount: bigint,
): { posted: LotShare[]; returned: LotShare[] } {
  if (hold.reservation.length === 0) return { posted: [], returned: [] };
  session.lotsChanged(hold.reservation);
  return settleReservation(session.lots, hold.reservation, postedAmount);
}

/** The user's account and the counterparty its pending transfer credited (both locked). */
function heldOn(session: BatchSession, hold: HoldState, asset: "CREDITS" | "FREE_OPERATIONS") {
  const accounts = userAccountsOf(session, hold);
  const counterparty = hold.counterpartyAccountId;
  if (counterparty === null)
    throw new Error(`ledger invariant: no pending transfer counterparty for hold ${hold.id}`);
  return {
    debit: asset === "CREDITS" ? accounts.credits : accounts.freeOperations,
    credit: session.account(counterparty),
  };
}

function userAccountsOf(session: BatchSession, hold: HoldState) {
  const accounts = session.userAccounts(hold.userRef);
  if (accounts === undefined) throw new Error(`ledger invariant: hold ${hold.id} of a user without accounts`);
  return accounts;
}

function metaOf(hold: HoldState) {
  return {
    userRef: hold.userRef,
    operation: hold.operation,
    holdId: hold.id,
    jobId: hold.jobId ?? undefined,
    pendingId: hold.pendingTransferId ?? undefined,
  };
}

function answer(session: BatchSession, hold: HoldState): HoldResult {
  return { hold: holdView(hold), balance: balanceOf(userAccountsOf(session, hold)) };
}

function announceBalance(session: BatchSession, userRef: string, cause: string): void {
  const accounts = session.userAccounts(userRef);
  if (accounts === undefined) return;
  const event: DomainEvent = { kind: "balanceChanged", userRef, cause, ...balanceOf(accounts) };
  session.announce(event);
}
