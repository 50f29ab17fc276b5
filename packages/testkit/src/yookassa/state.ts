// The fake's objects and their status machine. Plain in-memory maps, bounded; every transition is
// checked here and reported through `onChange` so notifications follow every status change.
import { randomBytes } from "node:crypto";

import { writeAmountValue } from "./money.js";
import type {
  FakeCancellationDetails,
  FakePaymentObject,
  FakePaymentStatus,
  FakeRefundList,
  FakeRefundObject,
  FakeRefundStatus,
} from "./types.js";
import {
  encodeCursor,
  type ParsedAmount,
  type ParsedCreatePayment,
  type ParsedCreateRefund,
  type ParsedRefundList,
} from "./validation.js";

export interface PaymentRecord {
  readonly id: string;
  status: FakePaymentStatus;
  paid: boolean;
  amountMinor: bigint;
  readonly currency: string;
  readonly capture: boolean;
  readonly returnUrl: string;
  readonly description: string | undefined;
  readonly metadata: Record<string, string>;
  readonly hasReceipt: boolean;
  readonly createdAt: Date;
  capturedAt: Date | undefined;
  expiresAt: Date | undefined;
  paymentMethod: Record<string, unknown> | undefined;
  cancellation: FakeCancellationDetails | undefined;
  /** Succeeded refunds. */
  refundedMinor: bigint;
  /** Refunds still pending: they count against what is left to refund. */
  refundingMinor: bigint;
}

export interface RefundRecord {
  readonly id: string;
  readonly paymentId: string;
  status: FakeRefundStatus;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly createdAt: Date;
  readonly description: string | undefined;
  readonly metadata: Record<string, string> | undefined;
  cancellation: FakeCancellationDetails | undefined;
}

export type StateChange =
  | { readonly kind: "payment"; readonly event: string; readonly object: FakePaymentObject }
  | { readonly kind: "refund"; readonly event: string; readonly object: FakeRefundObject };

/** A refused transition: answered as 400 invalid_request on the API, 409 on the control API. */
export class TransitionError extends Error {
  constructor(
    readonly parameter: string | undefined,
    description: string,
    readonly notFound = false,
  ) {
    super(description);
  }
}

export interface StateOptions {
  readonly shopId: string;
  readonly checkoutUrl: (paymentId: string) => string;
  readonly now: () => Date;
  readonly commissionBasisPoints: number;
  readonly refundsStartPending: boolean;
  readonly maxObjects: number;
  readonly onChange: (change: StateChange) => void;
}

/** YooKassa-looking ids: 36 characters, e.g. "2f1b8c3e-000f-5000-9000-1a2b3c4d5e6f". */
function objectId(kindTag: string): string {
  const hex = randomBytes(16).toString("hex");
  return `${hex.slice(0, 8)}-${kindTag}-5000-${"89ab"[Number.parseInt(hex.slice(8, 9), 16) % 4] ?? "9"}${hex.slice(9, 12)}-${hex.slice(12, 24)}`;
}

const HOLD_DAYS_MS = 7 * 24 * 60 * 60 * 1000;

export class FakeState {
  readonly payments = new Map<string, PaymentRecord>();
  readonly refunds = new Map<string, RefundRecord>();

  constructor(private readonly options: StateOptions) {}

  private ensureRoom(): void {
    if (this.payments.size + this.refunds.size >= this.options.maxObjects) {
      throw new TransitionError(undefined, "The fake's object store is full (maxObjects)");
    }
  }

  private paymentOrThrow(id: string): PaymentRecord {
    const payment = this.payments.get(id);
    if (payment === undefined)
      throw new TransitionError(undefined, "Payment doesn't exist or access denied", true);
    return payment;
  }

  private refundOrThrow(id: string): RefundRecord {
    const refund = this.refunds.get(id);
    if (refund === undefined)
      throw new TransitionError(undefined, "Refund doesn't exist or access denied", true);
    return refund;
  }

  private emitPayment(payment: PaymentRecord, event: string): void {
    this.options.onChange({ kind: "payment", event, object: this.renderPayment(payment) });
  }

  createPayment(request: ParsedCreatePayment): PaymentRecord {
    this.ensureRoom();
    const payment: PaymentRecord = {
      id: objectId("000f"),
      status: "pending",
      paid: false,
      amountMinor: request.amount.amountMinor,
      currency: request.amount.currency,
      capture: request.capture,
      returnUrl: request.returnUrl,
      description: request.description,
      metadata: request.metadata,
      hasReceipt: request.receipt !== undefined,
      createdAt: this.options.now(),
      capturedAt: undefined,
      expiresAt: undefined,
      paymentMethod: undefined,
      cancellation: undefined,
      refundedMinor: 0n,
      refundingMinor: 0n,
    };
    this.payments.set(payment.id, payment);
    return payment;
  }

  getPayment(id: string): PaymentRecord {
    return this.paymentOrThrow(id);
  }

  /** The payer completed the payment page. */
  pay(id: string, methodType = "bank_card"): PaymentRecord {
    const payment = this.paymentOrThrow(id);
    if (payment.status !== "pending") {
      throw new TransitionError(undefined, `Payment is ${payment.status}; only pending payments can be paid`);
    }
    payment.paid = true;
    payment.paymentMethod = {
      type: methodType,
      id: payment.id,
      saved: false,
      title: "Bank card *4444",
      card: {
        first6: "555555",
        last4: "4444",
        expiry_year: "2030",
        expiry_month: "12",
        card_type: "MasterCard",
      },
    };
    if (payment.capture) {
      payment.status = "succeeded";
      payment.capturedAt = this.options.now();
      this.emitPayment(payment, "payment.succeeded");
    } else {
      payment.status = "waiting_for_capture";
      payment.expiresAt = new Date(this.options.now().getTime() + HOLD_DAYS_MS);
      this.emitPayment(payment, "payment.waiting_for_capture");
    }
    return payment;
  }

  /** The payer's bank (or YooKassa's antifraud) refused the payment. */
  decline(id: string, reason: string, party: string): PaymentRecord {
    const payment = this.paymentOrThrow(id);
    if (payment.status !== "pending") {
      throw new TransitionError(
        undefined,
        `Payment is ${payment.status}; only pending payments can be declined`,
      );
    }
    return this.cancelWith(payment, { party, reason });
  }

  /** Unconfirmed (pending) or never captured (waiting_for_capture) payments expire. */
  expire(id: string): PaymentRecord {
    const payment = this.paymentOrThrow(id);
    if (payment.status === "pending") {
      return this.cancelWith(payment, { party: "yoo_money", reason: "expired_on_confirmation" });
    }
    if (payment.status === "waiting_for_capture") {
      return this.cancelWith(payment, { party: "yoo_money", reason: "expired_on_capture" });
    }
    throw new TransitionError(undefined, `Payment is ${payment.status}; final payments do not expire`);
  }

  capture(id: string, amount: ParsedAmount | undefined): PaymentRecord {
    const payment = this.paymentOrThrow(id);
    if (payment.status !== "waiting_for_capture") {
      throw new TransitionError(undefined, `Payment is ${payment.status}; capture needs waiting_for_capture`);
    }
    if (amount !== undefined) {
      if (amount.currency !== payment.currency)
        throw new TransitionError("amount.currency", "Currency differs from the payment");
      if (amount.amountMinor > payment.amountMinor) {
        throw new TransitionError("amount.value", "Capture amount exceeds the authorised amount");
      }
      payment.amountMinor = amount.amountMinor;
    }
    payment.status = "succeeded";
    payment.capturedAt = this.options.now();
    payment.expiresAt = undefined;
    this.emitPayment(payment, "payment.succeeded");
    return payment;
  }

  cancel(id: string): PaymentRecord {
    const payment = this.paymentOrThrow(id);
    if (payment.status !== "waiting_for_capture") {
      throw new TransitionError(undefined, `Payment is ${payment.status}; cancel needs waiting_for_capture`);
    }
    return this.cancelWith(payment, { party: "merchant", reason: "canceled_by_merchant" });
  }

  private cancelWith(payment: PaymentRecord, details: FakeCancellationDetails): PaymentRecord {
    payment.status = "canceled";
    payment.cancellation = details;
    payment.expiresAt = undefined;
    this.emitPayment(payment, "payment.canceled");
    return payment;
  }

  createRefund(request: ParsedCreateRefund): RefundRecord {
    const payment = this.payments.get(request.paymentId);
    if (payment === undefined)
      throw new TransitionError("payment_id", "Payment doesn't exist or access denied");
    if (payment.status !== "succeeded") {
      throw new TransitionError(
        "payment_id",
        `Payment is ${payment.status}; only succeeded payments can be refunded`,
      );
    }
    if (request.amount.currency !== payment.currency) {
      throw new TransitionError("amount.currency", "Currency differs from the payment");
    }
    const left = payment.amountMinor - payment.refundedMinor - payment.refundingMinor;
    if (request.amount.amountMinor > left) {
      throw new TransitionError("amount.value", "Refund amount exceeds what is left of the payment");
    }
    this.ensureRoom();
    const refund: RefundRecord = {
      id: objectId("0015"),
      paymentId: payment.id,
      status: "pending",
      amountMinor: request.amount.amountMinor,
      currency: request.amount.currency,
      createdAt: this.options.now(),
      description: request.description,
      metadata: request.metadata,
      cancellation: undefined,
    };
    this.refunds.set(refund.id, refund);
    payment.refundingMinor += refund.amountMinor;
    if (!this.options.refundsStartPending) this.completeRefund(refund.id);
    return refund;
  }

  getRefund(id: string): RefundRecord {
    return this.refundOrThrow(id);
  }

  completeRefund(id: string): RefundRecord {
    const refund = this.refundOrThrow(id);
    if (refund.status !== "pending")
      throw new TransitionError(undefined, `Refund is ${refund.status}; only pending refunds complete`);
    const payment = this.paymentOrThrow(refund.paymentId);
    refund.status = "succeeded";
    payment.refundingMinor -= refund.amountMinor;
    payment.refundedMinor += refund.amountMinor;
    this.options.onChange({ kind: "refund", event: "refund.succeeded", object: this.renderRefund(refund) });
    return refund;
  }

  cancelRefund(id: string, reason: string): RefundRecord {
    const refund = this.refundOrThrow(id);
    if (refund.status !== "pending")
      throw new TransitionError(undefined, `Refund is ${refund.status}; only pending refunds cancel`);
    const payment = this.paymentOrThrow(refund.paymentId);
    refund.status = "canceled";
    refund.cancellation = { party: "yoo_money", reason };
    payment.refundingMinor -= refund.amountMinor;
    // YooKassa sends no notification for canceled refunds.
    return refund;
  }

  renderPayment(payment: PaymentRecord): FakePaymentObject {
    const amount = { value: writeAmountValue(payment.amountMinor), currency: payment.currency };
    const succeeded = payment.status === "succeeded";
    const commissionMinor =
      (payment.amountMinor * BigInt(this.options.commissionBasisPoints) + 9_999n) / 10_000n;
    return {
      id: payment.id,
      status: payment.status,
      paid: payment.paid,
      amount,
      ...(succeeded
        ? {
            income_amount: {
              value: writeAmountValue(payment.amountMinor - commissionMinor),
              currency: payment.currency,
            },
          }
        : {}),
      ...(payment.refundedMinor > 0n
        ? { refunded_amount: { value: writeAmountValue(payment.refundedMinor), currency: payment.currency } }
        : {}),
      ...(payment.description === undefined ? {} : { description: payment.description }),
      recipient: { account_id: this.options.shopId, gateway_id: "fake-gateway" },
      ...(payment.paymentMethod === undefined
        ? {}
        : { payment_method: structuredClone(payment.paymentMethod) }),
      ...(payment.capturedAt === undefined ? {} : { captured_at: payment.capturedAt.toISOString() }),
      created_at: payment.createdAt.toISOString(),
      ...(payment.expiresAt === undefined ? {} : { expires_at: payment.expiresAt.toISOString() }),
      ...(payment.status === "pending"
        ? {
            confirmation: {
              type: "redirect" as const,
              confirmation_url: this.options.checkoutUrl(payment.id),
              return_url: payment.returnUrl,
            },
          }
        : {}),
      test: true,
      refundable: succeeded && payment.refundedMinor + payment.refundingMinor < payment.amountMinor,
      ...(payment.hasReceipt
        ? { receipt_registration: succeeded ? ("succeeded" as const) : ("pending" as const) }
        : {}),
      metadata: { ...payment.metadata },
      ...(payment.cancellation === undefined ? {} : { cancellation_details: { ...payment.cancellation } }),
    };
  }

  renderRefund(refund: RefundRecord): FakeRefundObject {
    return {
      id: refund.id,
      payment_id: refund.paymentId,
      status: refund.status,
      amount: { value: writeAmountValue(refund.amountMinor), currency: refund.currency },
      created_at: refund.createdAt.toISOString(),
      ...(refund.description === undefined ? {} : { description: refund.description }),
      ...(refund.metadata === undefined ? {} : { metadata: { ...refund.metadata } }),
      ...(refund.cancellation === undefined ? {} : { cancellation_details: { ...refund.cancellation } }),
    };
  }

  /** GET /refunds: newest first, a page of `limit`, `next_cursor` while more remain. */
  listRefunds(query: ParsedRefundList): FakeRefundList {
    const matching = [...this.refunds.values()]
      .reverse()
      .filter((refund) => query.paymentId === undefined || refund.paymentId === query.paymentId)
      .filter((refund) => query.status === undefined || refund.status === query.status);
    const page = matching.slice(query.offset, query.offset + query.limit);
    const next = query.offset + page.length;
    return {
      type: "list",
      items: page.map((refund) => this.renderRefund(refund)),
      ...(next < matching.length ? { next_cursor: encodeCursor(next) } : {}),
    };
  }

  clear(): void {
    this.payments.clear();
    this.refunds.clear();
  }
}
