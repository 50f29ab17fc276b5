// The requests billing sends to YooKassa, as stored with the payment or refund before the first
// attempt. A resumed call (after a crash, a timeout, a 500) rebuilds the very same request from the
// stored form under the stored Idempotence-Key, so YooKassa answers with the original object instead
// of creating a second one. JSON-safe: money as decimal strings of kopecks, never floats.
import type { CreatePaymentRequest, CreateRefundRequest, Receipt, VatCode } from "@billing/yookassa";

export interface StoredReceipt {
  readonly email?: string;
  readonly phone?: string;
  readonly itemDescription: string;
  readonly vatCode: number;
  readonly paymentSubject: string;
  readonly paymentMode: string;
}

export interface StoredPaymentRequest {
  readonly amountMinor: string;
  readonly currency: string;
  readonly returnUrl: string;
  readonly description: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly receipt?: StoredReceipt;
}

export interface StoredRefundRequest {
  /** Absent (rows stored before Stars) = YooKassa. For Stars the charge is providerPaymentId. */
  readonly provider?: "TELEGRAM_STARS";
  /** Stars: the Telegram user refunded (refundStarPayment's user_id). */
  readonly payerTelegramId?: number;
  readonly providerPaymentId: string;
  readonly amountMinor: string;
  readonly currency: string;
  readonly description: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly receipt?: StoredReceipt;
}

/** POST /payments: capture at once (a top-up settles in one step), pay on YooKassa's page. */
export function paymentRequestOf(stored: StoredPaymentRequest): CreatePaymentRequest {
  const amount = { amountMinor: BigInt(stored.amountMinor), currency: stored.currency };
  return {
    amount,
    capture: true,
    confirmation: { type: "redirect", returnUrl: stored.returnUrl },
    description: stored.description,
    metadata: stored.metadata,
    ...(stored.receipt === undefined ? {} : { receipt: receiptOf(stored.receipt, amount) }),
  };
}

/** POST /refunds. A shop that sends receipts must send a refund receipt too (same customer). */
export function refundRequestOf(stored: StoredRefundRequest): CreateRefundRequest {
  const amount = { amountMinor: BigInt(stored.amountMinor), currency: stored.currency };
  return {
    paymentId: stored.providerPaymentId,
    amount,
    description: stored.description,
    metadata: stored.metadata,
    ...(stored.receipt === undefined ? {} : { receipt: receiptOf(stored.receipt, amount) }),
  };
}

/** One item for the whole amount: its price × quantity 1 equals the amount, as YooKassa requires. */
function receiptOf(stored: StoredReceipt, amount: { amountMinor: bigint; currency: string }): Receipt {
  return {
    customer: {
      ...(stored.email === undefined ? {} : { email: stored.email }),
      ...(stored.phone === undefined ? {} : { phone: stored.phone }),
    },
    items: [
      {
        description: stored.itemDescription,
        quantity: "1",
        amount,
        vatCode: stored.vatCode as VatCode,
        paymentSubject: stored.paymentSubject,
        paymentMode: stored.paymentMode,
      },
    ],
  };
}

/** Reads a stored request back; a malformed one is a bug (billing wrote it), not bad input. */
export function storedPaymentRequest(value: unknown): StoredPaymentRequest {
  const record = asRecord(value, "payment request");
  return {
    amountMinor: decimal(record["amountMinor"]),
    currency: text(record["currency"]),
    returnUrl: text(record["returnUrl"]),
    description: text(record["description"]),
    metadata: stringMap(record["metadata"]),
    ...(record["receipt"] === undefined ? {} : { receipt: storedReceipt(record["receipt"]) }),
  };
}

export function storedRefundRequest(value: unknown): StoredRefundRequest {
  const record = asRecord(value, "refund request");
  const payer = record["payerTelegramId"];
  if (payer !== undefined && (typeof payer !== "number" || !Number.isSafeInteger(payer)))
    throw malformed("payerTelegramId");
  return {
    ...(record["provider"] === "TELEGRAM_STARS" ? { provider: "TELEGRAM_STARS" as const } : {}),
    ...(payer === undefined ? {} : { payerTelegramId: payer }),
    providerPaymentId: text(record["providerPaymentId"]),
    amountMinor: decimal(record["amountMinor"]),
    currency: text(record["currency"]),
    description: text(record["description"]),
    metadata: stringMap(record["metadata"]),
    ...(record["receipt"] === undefined ? {} : { receipt: storedReceipt(record["receipt"]) }),
  };
}

export function storedReceipt(value: unknown): StoredReceipt {
  const record = asRecord(value, "receipt");
  const vatCode = record["vatCode"];
  if (typeof vatCode !== "number" || !Number.isInteger(vatCode)) throw malformed("receipt.vatCode");
  return {
    ...(record["email"] === undefined ? {} : { email: text(record["email"]) }),
    ...(record["phone"] === undefined ? {} : { phone: text(record["phone"]) }),
    itemDescription: text(record["itemDescription"]),
    vatCode,
    paymentSubject: text(record["paymentSubject"]),
    paymentMode: text(record["paymentMode"]),
  };
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw malformed(what);
  return value as Record<string, unknown>;
}

function text(value: unknown): string {
  if (typeof value !== "string") throw malformed("a text field");
  return value;
}

function decimal(value: unknown): string {
  if (typeof value !== "string" || !/^\d{1,19}$/.test(value)) throw malformed("an amount");
  return value;
}

function stringMap(value: unknown): Record<string, string> {
  const record = asRecord(value, "metadata");
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(record)) out[key] = text(entry);
  return out;
}

function malformed(what: string): Error {
  return new Error(`payments invariant: stored YooKassa ${what} is malformed`);
}
