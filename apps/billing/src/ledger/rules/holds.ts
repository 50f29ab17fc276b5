// How a hold resolves: what a Commit or a Release asks of a locked hold, decided in the order the
// contract lists the outcomes (the hold's state first, then the amount). Pure.
import { DomainError } from "../../domain/errors.js";
import type { FundingSourceCode, HoldStateCode } from "../../domain/ledger-codes.js";
import { holdExpired, resolvedAlready } from "./errors.js";

export const HOLD_TIMEOUT_MIN_MS = 1_000;
export const HOLD_TIMEOUT_MAX_MS = 24 * 60 * 60 * 1_000;
export const HOLD_TIMEOUT_DEFAULT_MS = 15 * 60 * 1_000;

/** The fields of a hold the rules read. */
export interface HoldFacts {
  readonly id: string;
  readonly state: HoldStateCode;
  readonly fundedBy: FundingSourceCode;
  readonly amount: bigint;
  readonly postedAmount: bigint | null;
  readonly expiresAt: Date;
  readonly pendingTransferId: string | null;
}

/** Commit (`amountCredits` 0 or absent = all of it) or Release. */
export type ResolutionRequest =
  | { readonly kind: "post"; readonly amountCredits: bigint | undefined }
  | { readonly kind: "void"; readonly reason: string };

export type ResolutionDecision =
  /** Past its timeout: the service expires it now, and the request is refused HOLD_EXPIRED. */
  | { readonly kind: "expire" }
  /** Resolved before in the same way: answered as it stands. */
  | { readonly kind: "unchanged" }
  | { readonly kind: "post"; readonly amount: bigint }
  | { readonly kind: "void"; readonly reason: string };

export function decideResolution(hold: HoldFacts, request: ResolutionRequest, now: Date): ResolutionDecision {
  if (hold.state === "PENDING" && hold.expiresAt <= now) return { kind: "expire" };
  const amount =
    request.kind === "post" && request.amountCredits !== undefined && request.amountCredits !== 0n
      ? request.amountCredits
      : hold.amount;
  if (hold.state !== "PENDING") {
    const same =
      (request.kind === "post" && hold.state === "POSTED" && hold.postedAmount === amount) ||
      (request.kind === "void" && hold.state === "VOIDED");
    if (same) return { kind: "unchanged" };
    throw resolvedAlready(hold);
  }
  if (request.kind === "void") return { kind: "void", reason: request.reason };
  if (amount > hold.amount) {
    throw new DomainError("AMOUNT_EXCEEDS_HOLD", `amount ${amount} exceeds the held ${hold.amount}`, {
      metadata: { held: hold.amount.toString(), requested: amount.toString() },
    });
  }
  return { kind: "post", amount };
}

/** The refusal an expiry decision answers once the expiry is recorded. */
export const expiredRefusal = (hold: HoldFacts): DomainError => holdExpired(hold.id);

/** A hold funded by a free operation or credits moves value when resolved; a NONE one does not. */
export function movesValue(
  hold: HoldFacts,
): hold is HoldFacts & { fundedBy: Exclude<FundingSourceCode, "NONE"> } {
  return hold.fundedBy !== "NONE" && hold.pendingTransferId != null;
}
