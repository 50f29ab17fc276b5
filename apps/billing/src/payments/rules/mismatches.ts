// Where YooKassa's object disagrees with what billing created. Any disagreement means nothing may
// be credited or taken back: operators must look. The same checks for payments and refunds. No I/O.
import type { Payment as ProviderPayment, Refund as ProviderRefund } from "@billing/yookassa";

export interface ExpectedPayment {
  readonly id: string;
  readonly providerPaymentId: string | null | undefined;
  readonly amountMinor: bigint;
  readonly currency: string;
}

export interface ExpectedRefund {
  readonly id: string;
  readonly providerRefundId: string | null | undefined;
  readonly amountMinor: bigint;
  readonly currency: string;
  /** YooKassa's id of the payment being refunded. */
  readonly providerPaymentId: string | null | undefined;
}

/**
 * The amount or currency differs, the object belongs to another payment, or it is a test object
 * while test objects are not accepted.
 */
export function mismatchesOf(
  local: ExpectedPayment,
  remote: ProviderPayment,
  options: { allowTestPayments: boolean },
): string[] {
  const problems = commonMismatches(local, local.providerPaymentId, remote);
  const claimed = remote.metadata["billing_payment_id"];
  if (claimed !== local.id) problems.push(`metadata.billing_payment_id is ${claimed ?? "missing"}`);
  if (remote.test && !options.allowTestPayments)
    problems.push("a test object, and test payments are not accepted (YOOKASSA_ALLOW_TEST_PAYMENTS)");
  return problems;
}

/** The refund refunds another payment, another amount, or carries another refund's id. */
export function refundMismatchesOf(local: ExpectedRefund, remote: ProviderRefund): string[] {
  const problems = commonMismatches(local, local.providerRefundId, remote);
  if (remote.paymentId !== local.providerPaymentId)
    problems.push(`refunds payment ${remote.paymentId}, not ${local.providerPaymentId ?? "?"}`);
  const claimed = remote.metadata?.["billing_refund_id"];
  if (claimed !== undefined && claimed !== local.id)
    problems.push(`metadata.billing_refund_id is ${claimed}`);
  return problems;
}

function commonMismatches(
  local: { amountMinor: bigint; currency: string },
  storedProviderId: string | null | undefined,
  remote: { id: string; amount: { amountMinor: bigint; currency: string } },
): string[] {
  const problems: string[] = [];
  if (storedProviderId != null && remote.id !== storedProviderId)
    problems.push(`provider id ${remote.id} is not the stored ${storedProviderId}`);
  if (remote.amount.amountMinor !== local.amountMinor)
    problems.push(`amount ${remote.amount.amountMinor} differs from the created ${local.amountMinor}`);
  if (remote.amount.currency !== local.currency)
    problems.push(`currency ${remote.amount.currency} differs from the created ${local.currency}`);
  return problems;
}
