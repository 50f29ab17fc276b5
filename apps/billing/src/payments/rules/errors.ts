// The payments' refusals, as domain errors (rpc/errors.ts maps them to the wire). No I/O here.
import { DomainError } from "../../domain/errors.js";
import { BILLING_PARTY, type TrackedKind } from "./lifecycle.js";

export function paymentNotFound(paymentId: string): DomainError {
  return new DomainError("PAYMENT_NOT_FOUND", `no payment ${paymentId}`, {
    metadata: { payment_id: paymentId },
  });
}

export function paymentState(payment: { id: string; status: string }, message: string): DomainError {
  return new DomainError("PAYMENT_STATE", message, {
    metadata: { payment_id: payment.id, status: payment.status },
  });
}

export function unknownPlan(planCode: string): DomainError {
  return new DomainError("UNKNOWN_PLAN", `no plan '${planCode}' is for sale`, {
    metadata: { plan_code: planCode },
  });
}

/** YooKassa's object disagrees with billing's: nothing is credited or taken back. */
export function mismatch(
  kind: TrackedKind,
  id: string,
  remoteId: string,
  problems: readonly string[],
): DomainError {
  return new DomainError(
    "PAYMENT_MISMATCH",
    `${kind} ${id} disagrees with YooKassa's ${remoteId}: ${problems.join("; ")}`,
    {
      metadata: { [`${kind}_id`]: id, [`provider_${kind}_id`]: remoteId },
    },
  );
}

/** A replay of a create that YooKassa refused answers the same refusal, not the canceled row. */
export function throwIfRefusedByBilling(row: {
  status: string;
  cancellationParty?: string | null | undefined;
  cancellationReason?: string | null | undefined;
}): void {
  if (row.status !== "CANCELED" || row.cancellationParty !== BILLING_PARTY) return;
  const reason = row.cancellationReason ?? "";
  if (reason.startsWith("provider_rejected:")) {
    const code = reason.slice("provider_rejected:".length);
    throw new DomainError("PROVIDER_REJECTED", `YooKassa refused this request earlier: ${code}`, {
      metadata: { provider: "yookassa", provider_code: code },
    });
  }
  if (reason === "payment_mismatch") {
    throw new DomainError(
      "PAYMENT_MISMATCH",
      "YooKassa's answer disagreed with the request; nothing was charged",
    );
  }
}
