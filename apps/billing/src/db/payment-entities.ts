// MikroORM entities of the payment tables (the schema itself is in migrations/). Money is bigint
// kopecks (`…Minor`), credits are bigint credits.
import { defineEntity, p, type InferEntity } from "@mikro-orm/postgresql";
import {
  PAYMENT_PROVIDERS,
  PAYMENT_PURPOSES,
  PAYMENT_STATUSES,
  REFUND_STATUSES,
} from "../domain/payment-codes.js";

export const Payment = defineEntity({
  name: "Payment",
  tableName: "payments",
  properties: {
    seq: p.bigint().primary().autoincrement(),
    id: p.uuid().unique(),
    userRef: p.text(),
    /** Who takes the money: YooKassa, or Telegram Stars (currency XTR, amounts in stars). */
    provider: p.enum(PAYMENT_PROVIDERS),
    purpose: p.enum(PAYMENT_PURPOSES),
    packageCode: p.text().nullable(),
    planCode: p.text().nullable(),
    /** The plan as bought, frozen at creation (its price is amountMinor): the activation uses these. */
    planTitle: p.text().nullable(),
    planPeriodMonths: p.integer().nullable(),
    amountMinor: p.bigint(),
    currency: p.text(),
    credits: p.bigint(),
    status: p.enum(PAYMENT_STATUSES),
    /** The caller's idempotency key of CreateTopUp. */
    requestKey: p.text().unique(),
    /** Billing's own Idempotence-Key for YooKassa's POST /payments (unused for Stars). */
    idempotenceKey: p.text().unique(),
    /**
     * The create request exactly as sent (see payments/requests.ts), for resumes and refund receipts;
     * for Stars the invoice the bot sends.
     */
    createRequest: p.json<unknown>(),
    providerPaymentId: p.text().nullable().unique(),
    confirmationUrl: p.text().nullable(),
    test: p.boolean().nullable(),
    cancellationParty: p.text().nullable(),
    cancellationReason: p.text().nullable(),
    refundedAmountMinor: p.bigint().default(0),
    creditTransferId: p.uuid().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    creditedAt: p.datetime().nullable(),
    /** When the sweep should re-read it; null once settled. */
    nextSyncAt: p.datetime().nullable(),
  },
});
export type Payment = InferEntity<typeof Payment>;

export const PaymentRefund = defineEntity({
  name: "PaymentRefund",
  tableName: "payment_refunds",
  properties: {
    seq: p.bigint().primary().autoincrement(),
    id: p.uuid().unique(),
    paymentId: p.uuid(),
    userRef: p.text(),
    status: p.enum(REFUND_STATUSES),
    amountMinor: p.bigint(),
    currency: p.text(),
    /** Decided when the refund was asked for (the payment's credits, pro rata). */
    creditsToReverse: p.bigint(),
    /** What was actually taken back when it succeeded (at most what the user still had). */
    creditsReversed: p.bigint().nullable(),
    force: p.boolean(),
    reason: p.text(),
    requestKey: p.text().unique(),
    idempotenceKey: p.text().unique(),
    createRequest: p.json<unknown>(),
    providerRefundId: p.text().nullable().unique(),
    reverseTransferId: p.uuid().nullable(),
    cancellationParty: p.text().nullable(),
    cancellationReason: p.text().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    succeededAt: p.datetime().nullable(),
    nextSyncAt: p.datetime().nullable(),
  },
});
export type PaymentRefund = InferEntity<typeof PaymentRefund>;

export const paymentEntities = [Payment, PaymentRefund];
