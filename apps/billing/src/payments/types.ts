// What the payments domain answers. Plain data with bigint money; rpc/ maps it to proto.
import type {
  PaymentProviderCode,
  PaymentPurposeCode,
  PaymentStatusCode,
  RefundStatusCode,
} from "../domain/payment-codes.js";

/** A package of the catalogue: what it costs and the credits it buys. */
export interface TopUpPackage {
  readonly packageCode: string;
  readonly amountMinor: bigint;
  readonly credits: bigint;
}

export type NotificationOutcomeCode = "APPLIED" | "UNCHANGED" | "IGNORED";

export interface PaymentView {
  paymentId: string;
  provider: PaymentProviderCode;
  providerPaymentId: string;
  userRef: string;
  status: PaymentStatusCode;
  purpose: PaymentPurposeCode;
  amountMinor: bigint;
  currency: string;
  credits: bigint;
  planCode: string;
  packageCode: string;
  confirmationUrl: string;
  cancellationParty: string;
  cancellationReason: string;
  refundedAmountMinor: bigint;
  test: boolean;
  createdAt: Date;
  updatedAt: Date;
  creditedAt: Date | undefined;
  /** A pending Stars payment's invoice, for the bot to send. */
  starsInvoice: StarsInvoiceView | undefined;
}

export interface StarsInvoiceView {
  title: string;
  description: string;
  label: string;
  payload: string;
  currency: string;
  amount: bigint;
}

/** A successful_payment of a Stars invoice, as the bot hands it over. */
export interface StarsChargeCommand {
  userRef: string;
  invoicePayload: string;
  currency: string;
  totalAmount: bigint;
  telegramPaymentChargeId: string;
  providerPaymentChargeId: string;
}

export interface RefundView {
  refundId: string;
  providerRefundId: string;
  paymentId: string;
  status: RefundStatusCode;
  amountMinor: bigint;
  /** Credits taken back (0 until the refund succeeded). */
  creditsReversed: bigint;
  reason: string;
  createdAt: Date;
}

export interface TopUpOptions {
  packages: TopUpPackage[];
  customMinAmountMinor: bigint;
  customMaxAmountMinor: bigint;
  currency: string;
  receiptRequired: boolean;
  /** Telegram Stars packages (amountMinor in stars); empty when Stars are off. */
  starsPackages: TopUpPackage[];
  starsRate: { stars: bigint; credits: bigint } | undefined;
}

/** What is bought. Package and amount are resolved against the catalogue by the handler. */
export type Purchase =
  | { kind: "package"; packageCode: string; amountMinor: bigint; credits: bigint }
  | { kind: "amount"; amountMinor: bigint; credits: bigint }
  | { kind: "plan"; planCode: string }
  | { kind: "stars"; packageCode: string; stars: bigint; credits: bigint };

export interface CreateTopUpCommand {
  userRef: string;
  purchase: Purchase;
  idempotencyKey: string;
  /** Empty: the configured default. */
  returnUrl: string;
  customerEmail: string;
  /** Digits only (international format). */
  customerPhone: string;
}

export interface RefundPaymentCommand {
  paymentId: string;
  /** 0 = everything not yet refunded. */
  amountMinor: bigint;
  reason: string;
  idempotencyKey: string;
  force: boolean;
}

export interface SyncResult {
  outcome: NotificationOutcomeCode;
  payment: PaymentView | undefined;
}
