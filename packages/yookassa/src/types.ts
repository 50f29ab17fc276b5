// The typed surface of the YooKassa API v3 objects we use. camelCase here; the snake_case wire
// format lives only in wire.ts. Money is always `MonetaryAmount` (bigint minor units).
import type { MonetaryAmount } from "./money.js";

export const PAYMENT_STATUSES = ["pending", "waiting_for_capture", "succeeded", "canceled"] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const REFUND_STATUSES = ["pending", "succeeded", "canceled"] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** Metadata as YooKassa stores it: ≤16 keys, names ≤32 chars, string values ≤512 chars. */
export type Metadata = Readonly<Record<string, string>>;

export interface CancellationDetails {
  /** "merchant", "yoo_money", "payment_network", … — not validated: YooKassa may add parties. */
  readonly party: string;
  /** e.g. "expired_on_confirmation", "insufficient_funds", "canceled_by_merchant". */
  readonly reason: string;
}

export interface Confirmation {
  readonly type: string;
  /** Where to send the payer (present for `redirect` confirmations while the payment is pending). */
  readonly confirmationUrl?: string;
  readonly returnUrl?: string;
}

/** Loosely typed on purpose: the shape depends on the method; we only rely on `type`. */
export interface PaymentMethod {
  readonly type: string;
  readonly id?: string;
  readonly saved?: boolean;
  readonly title?: string;
  /** The method object exactly as received (snake_case). */
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface Payment {
  /** 36 characters, e.g. "2419a771-000f-5000-9000-1edaf29243f2". */
  readonly id: string;
  readonly status: PaymentStatus;
  readonly paid: boolean;
  readonly amount: MonetaryAmount;
  /** What the shop receives after YooKassa's commission (succeeded payments). */
  readonly incomeAmount?: MonetaryAmount;
  readonly refundedAmount?: MonetaryAmount;
  readonly description?: string;
  /** ISO-8601 timestamps exactly as YooKassa sent them. */
  readonly createdAt: string;
  readonly capturedAt?: string;
  readonly expiresAt?: string;
  /** True for test shops. Production must refuse test objects. */
  readonly test: boolean;
  readonly refundable: boolean;
  readonly confirmation?: Confirmation;
  readonly metadata: Metadata;
  readonly paymentMethod?: PaymentMethod;
  readonly cancellationDetails?: CancellationDetails;
}

export interface Refund {
  readonly id: string;
  readonly paymentId: string;
  readonly status: RefundStatus;
  readonly amount: MonetaryAmount;
  readonly createdAt: string;
  readonly description?: string;
  readonly cancellationDetails?: CancellationDetails;
  readonly metadata?: Metadata;
}

/** GET /refunds: the refunds of one payment, newest first, `limit` (1–100) a page. */
export interface RefundListQuery {
  readonly paymentId: string;
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
}

export interface RefundList {
  readonly items: readonly Refund[];
  /** Absent on the last page. */
  readonly nextCursor?: string;
}

export interface RedirectConfirmationRequest {
  readonly type: "redirect";
  /** Where YooKassa sends the payer back after the payment page. */
  readonly returnUrl: string;
  readonly locale?: "ru_RU" | "en_US";
}

/** VAT codes of 54-FZ receipts as YooKassa numbers them (1 = no VAT … 12). */
export type VatCode = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12;

export interface ReceiptCustomer {
  /** Email or phone is required; Telegram gives neither, so ask the user. */
  readonly email?: string;
  /** Digits only in international format, e.g. "79001234567". */
  readonly phone?: string;
  readonly fullName?: string;
}

export interface ReceiptItem {
  /** ≤128 characters. */
  readonly description: string;
  /** A positive decimal with at most 3 fraction digits, e.g. "1" or "0.250" (a decimal string, never a float). */
  readonly quantity: string;
  /** Unit price. The sum of price × quantity over items must equal the payment amount. */
  readonly amount: MonetaryAmount;
  readonly vatCode: VatCode;
  /** e.g. "service", "commodity". */
  readonly paymentSubject?: string;
  /** e.g. "full_prepayment", "full_payment". */
  readonly paymentMode?: string;
}

export interface Receipt {
  readonly customer: ReceiptCustomer;
  readonly items: readonly ReceiptItem[];
  /** 1–6, only for shops with several tax systems. */
  readonly taxSystemCode?: number;
}

export interface CreatePaymentRequest {
  readonly amount: MonetaryAmount;
  /** YooKassa's default is false (two-stage). Send true for top-ups to settle in one step. */
  readonly capture?: boolean;
  readonly confirmation: RedirectConfirmationRequest;
  /** ≤128 characters, shown to the payer. */
  readonly description?: string;
  readonly metadata?: Metadata;
  /** Required when the shop sends 54-FZ receipts through YooKassa. */
  readonly receipt?: Receipt;
}

export interface CreateRefundRequest {
  readonly paymentId: string;
  readonly amount: MonetaryAmount;
  /** ≤250 characters. */
  readonly description?: string;
  readonly receipt?: Receipt;
  readonly metadata?: Metadata;
}
