// Stored rows as the views payments answers with (plain data, bigint money).
import { storedInvoice } from "../rules.js";
import type { PaymentView, RefundView, StarsInvoiceView } from "../types.js";
import type { PaymentRow, RefundRow } from "./store.js";

export function viewOf(payment: PaymentRow): PaymentView {
  return {
    paymentId: payment.id,
    provider: payment.provider,
    providerPaymentId: payment.providerPaymentId ?? "",
    userRef: payment.userRef,
    status: payment.status,
    purpose: payment.purpose,
    amountMinor: payment.amountMinor,
    currency: payment.currency,
    credits: payment.credits,
    planCode: payment.planCode ?? "",
    packageCode: payment.packageCode ?? "",
    // Only a payment still waiting for the payer has somewhere to send them.
    confirmationUrl: payment.status === "PENDING" ? (payment.confirmationUrl ?? "") : "",
    cancellationParty: payment.cancellationParty ?? "",
    cancellationReason: payment.cancellationReason ?? "",
    refundedAmountMinor: payment.refundedAmountMinor,
    test: payment.test ?? false,
    createdAt: payment.createdAt,
    updatedAt: payment.updatedAt,
    creditedAt: payment.creditedAt ?? undefined,
    starsInvoice:
      payment.provider === "TELEGRAM_STARS" && payment.status === "PENDING"
        ? invoiceViewOf(payment)
        : undefined,
  };
}

function invoiceViewOf(payment: PaymentRow): StarsInvoiceView {
  const invoice = storedInvoice(payment.createRequest);
  return { ...invoice, amount: BigInt(invoice.amount) };
}

export function refundViewOf(refund: RefundRow): RefundView {
  return {
    refundId: refund.id,
    providerRefundId: refund.providerRefundId ?? "",
    paymentId: refund.paymentId,
    status: refund.status,
    amountMinor: refund.amountMinor,
    creditsReversed: refund.creditsReversed ?? 0n,
    reason: refund.reason,
    createdAt: refund.createdAt,
  };
}
