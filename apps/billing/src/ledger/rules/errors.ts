// The ledger's refusals, built in one place so every path words them the same. Pure.
import { DomainError } from "../../domain/errors.js";
import type { HoldStateCode } from "../../domain/ledger-codes.js";

export function accountNotFound(userRef: string): DomainError {
  return new DomainError("ACCOUNT_NOT_FOUND", `no account for ${userRef}; call OpenAccount first`, {
    metadata: { user_ref: userRef },
  });
}

export function unknownOperation(operation: string, known: readonly string[]): DomainError {
  return new DomainError(
    "UNKNOWN_OPERATION",
    `unknown operation '${operation}'; known: ${known.join(", ")}`,
    {
      metadata: { operation },
    },
  );
}

export function insufficientFunds(
  operation: string,
  priceCredits: bigint,
  available: { credits: bigint; freeOperations: bigint },
): DomainError {
  return new DomainError(
    "INSUFFICIENT_FUNDS",
    `${operation} costs ${priceCredits} credits; available: ${available.credits} credits and ${available.freeOperations} free operations`,
    {
      insufficientFunds: {
        operation,
        priceCredits,
        creditsAvailable: available.credits,
        freeOperationsAvailable: available.freeOperations,
      },
      metadata: {
        operation,
        price_credits: priceCredits.toString(),
        credits_available: available.credits.toString(),
        free_operations_available: available.freeOperations.toString(),
      },
    },
  );
}

export function holdNotFound(holdId: string): DomainError {
  return new DomainError("HOLD_NOT_FOUND", `no hold ${holdId}`, { metadata: { hold_id: holdId } });
}

export function holdExpired(holdId: string): DomainError {
  return new DomainError("HOLD_EXPIRED", `hold ${holdId} expired and was voided by the service`, {
    metadata: { hold_id: holdId },
  });
}

export function resolvedAlready(hold: {
  id: string;
  state: HoldStateCode;
  postedAmount: bigint | null;
}): DomainError {
  const metadata = { hold_id: hold.id, state: hold.state };
  switch (hold.state) {
    case "POSTED":
      return new DomainError(
        "HOLD_ALREADY_POSTED",
        `hold ${hold.id} was already committed (${hold.postedAmount ?? 0n})`,
        { metadata },
      );
    case "VOIDED":
      return new DomainError("HOLD_ALREADY_VOIDED", `hold ${hold.id} was already released`, { metadata });
    case "EXPIRED":
      return holdExpired(hold.id);
    case "PENDING":
      throw new Error("ledger invariant: a pending hold is not resolved");
  }
}
