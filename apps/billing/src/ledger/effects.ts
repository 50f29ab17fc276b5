// The money effects of the ledger (metrics and the audit log), built from what it already holds, so
// every effect site stays one line. No I/O.
import type { HoldStateCode } from "../domain/ledger-codes.js";
import type { MoneyEffect } from "../observability/effects.js";
import type { ChargeResult, HoldResult, RefundResult } from "./types.js";

const unitOfFunding = (fundedBy: string) => (fundedBy === "FREE_OPERATION" ? "free_operations" : "credits");

export function spendEffect(
  command: { userRef: string; operation: string; idempotencyKey: string },
  result: ChargeResult | HoldResult,
): MoneyEffect {
  if ("hold" in result) {
    const { hold } = result;
    return {
      kind: "hold",
      userRef: command.userRef,
      amount: hold.amountCredits + hold.amountFreeOperations,
      unit: unitOfFunding(hold.fundedBy),
      holdId: hold.holdId,
      idempotencyKey: command.idempotencyKey,
      operation: command.operation,
      fundedBy: hold.fundedBy,
    };
  }
  return {
    kind: "charge",
    userRef: command.userRef,
    amount: result.amountCredits + result.amountFreeOperations,
    unit: unitOfFunding(result.fundedBy),
    transferId: result.transferId === "" ? undefined : result.transferId,
    idempotencyKey: command.idempotencyKey,
    operation: command.operation,
    fundedBy: result.fundedBy,
  };
}

/** A hold that just left PENDING (posted, voided or expired). */
export function holdResolutionEffect(hold: {
  id: string;
  userRef: string;
  operation: string;
  state: HoldStateCode;
  fundedBy: string;
  amount: bigint;
  postedAmount?: bigint | null | undefined;
  resolutionTransferId?: string | null | undefined;
}): MoneyEffect {
  const kind =
    hold.state === "POSTED" ? "hold_posted" : hold.state === "VOIDED" ? "hold_voided" : "hold_expired";
  return {
    kind,
    userRef: hold.userRef,
    amount: hold.state === "POSTED" ? (hold.postedAmount ?? 0n) : hold.amount,
    unit: unitOfFunding(hold.fundedBy),
    holdId: hold.id,
    transferId: hold.resolutionTransferId ?? undefined,
    operation: hold.operation,
    fundedBy: hold.fundedBy,
  };
}

/** `original`: the charge or committed hold's transfer that the refund reverses. */
export function refundEffect(
  original: { userRef: string; operation?: string | null | undefined; holdId?: string | null | undefined },
  idempotencyKey: string,
  result: RefundResult,
): MoneyEffect {
  return {
    kind: "refund",
    userRef: original.userRef,
    amount: result.amountCredits + result.amountFreeOperations,
    unit: unitOfFunding(result.returnedAs),
    transferId: result.refundTransferId,
    holdId: original.holdId ?? undefined,
    idempotencyKey,
    operation: original.operation ?? undefined,
    fundedBy: result.returnedAs,
  };
}

/** One effect per asset a grant credited (its transfers are in the same order as `parts`). */
export function grantEffects(
  command: { userRef: string; idempotencyKey: string },
  parts: readonly { asset: "CREDITS" | "FREE_OPERATIONS"; amount: bigint }[],
  transferIds: readonly string[],
): MoneyEffect[] {
  return parts.map((part, i) => ({
    kind: "grant",
    userRef: command.userRef,
    amount: part.amount,
    unit: part.asset === "CREDITS" ? "credits" : "free_operations",
    transferId: transferIds[i],
    idempotencyKey: command.idempotencyKey,
  }));
}

export function starterGrantEffect(userRef: string, freeOperations: bigint, transferId: string): MoneyEffect {
  return { kind: "starter_grant", userRef, amount: freeOperations, unit: "free_operations", transferId };
}
