// The only place that knows YooKassa's JSON: encodes requests (after validating what we can check
// locally) and decodes answers defensively. An answer we cannot read is a `MalformedWireError`
// naming the path, never a crash further down.
import { YooKassaError } from "./errors.js";
import { MoneyFormatError, fromWireAmount, isCurrencyCode, toWireAmount } from "./money.js";
import type { MonetaryAmount, WireAmount } from "./money.js";
import { PAYMENT_STATUSES, REFUND_STATUSES } from "./types.js";
import type {
  CancellationDetails,
  Confirmation,
  CreatePaymentRequest,
  CreateRefundRequest,
  Metadata,
  Payment,
  PaymentMethod,
  PaymentStatus,
  Receipt,
  Refund,
  RefundList,
  RefundStatus,
} from "./types.js";

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Limits YooKassa documents; checked before sending so a bad request never leaves the process.

export const LIMITS = {
  descriptionChars: 128,
  refundDescriptionChars: 250,
  metadataKeys: 16,
  metadataKeyChars: 32,
  metadataValueChars: 512,
  receiptItems: 100,
  receiptItemDescriptionChars: 128,
  returnUrlChars: 2048,
  objectIdChars: 64,
} as const;

const IDEMPOTENCE_KEY = /^[0-9a-zA-Z+\-_.]{1,64}$/;
const OBJECT_ID = /^[0-9a-zA-Z_-]+$/;
const QUANTITY = /^(0|[1-9][0-9]{0,8})(\.[0-9]{1,3})?$/;

export function invalid(parameter: string, description: string): YooKassaError {
  return new YooKassaError({ kind: "invalid_request", outcomeUnknown: false, parameter, description });
}

/** Length in characters as people (and YooKassa) count them, not UTF-16 units. */
function charLength(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

export function assertIdempotenceKey(key: string): void {
  if (!IDEMPOTENCE_KEY.test(key)) {
    throw invalid("Idempotence-Key", "Idempotence-Key must be 1–64 characters of [0-9a-zA-Z+-_.]");
  }
}

export function assertObjectId(id: string, parameter: string): void {
  if (id.length === 0 || id.length > LIMITS.objectIdChars || !OBJECT_ID.test(id)) {
    throw invalid(
      parameter,
      `${parameter} must be 1–${String(LIMITS.objectIdChars)} characters of [0-9a-zA-Z_-]`,
    );
  }
}

function encodeAmount(amount: MonetaryAmount, parameter: string, allowZero = false): WireAmount {
  if (!isCurrencyCode(amount.currency))
    throw invalid(`${parameter}.currency`, "currency must be a 3-letter ISO code");
  if (amount.amountMinor < 0n || (!allowZero && amount.amountMinor === 0n)) {
    throw invalid(`${parameter}.value`, "amount must be positive");
  }
  try {
    return toWireAmount(amount);
  } catch (error) {
    if (error instanceof MoneyFormatError) throw invalid(`${parameter}.value`, error.message);
    throw error;
  }
}

function checkDescription(text: string | undefined, parameter: string, maxChars: number): void {
  if (text !== undefined && charLength(text) > maxChars) {
    throw invalid(parameter, `${parameter} must be at most ${String(maxChars)} characters`);
  }
}

function encodeMetadata(metadata: Metadata | undefined): Json | undefined {
  if (metadata === undefined) return undefined;
  const entries = Object.entries(metadata);
  if (entries.length > LIMITS.metadataKeys) {
    throw invalid("metadata", `metadata may have at most ${String(LIMITS.metadataKeys)} keys`);
  }
  for (const [key, value] of entries) {
    if (key.length === 0 || charLength(key) > LIMITS.metadataKeyChars) {
      throw invalid("metadata", `metadata key names must be 1–${String(LIMITS.metadataKeyChars)} characters`);
    }
    if (typeof value !== "string" || charLength(value) > LIMITS.metadataValueChars) {
      throw invalid(
        "metadata",
        `metadata values must be strings of at most ${String(LIMITS.metadataValueChars)} characters`,
      );
    }
  }
  return { ...metadata };
}

function encodeReceipt(receipt: Receipt): Json {
  const { customer } = receipt;
  if ((customer.email ?? "") === "" && (customer.phone ?? "") === "") {
    throw invalid("receipt.customer", "receipt.customer needs an email or a phone");
  }
  if (receipt.items.length === 0 || receipt.items.length > LIMITS.receiptItems) {
    throw invalid("receipt.items", `receipt.items must have 1–${String(LIMITS.receiptItems)} items`);
  }
  const items = receipt.items.map((item, index) => {
    const at = `receipt.items[${String(index)}]`;
    if (item.description.length === 0 || charLength(item.description) > LIMITS.receiptItemDescriptionChars) {
      throw invalid(
        `${at}.description`,
        `description must be 1–${String(LIMITS.receiptItemDescriptionChars)} characters`,
      );
    }
    if (!QUANTITY.test(item.quantity) || /^0(\.0*)?$/.test(item.quantity)) {
      throw invalid(`${at}.quantity`, "quantity must be a positive decimal with at most 3 fraction digits");
    }
    if (!Number.isInteger(item.vatCode) || item.vatCode < 1 || item.vatCode > 12) {
      throw invalid(`${at}.vat_code`, "vat_code must be an integer 1–12");
    }
    return {
      description: item.description,
      quantity: item.quantity,
      amount: encodeAmount(item.amount, `${at}.amount`),
      vat_code: item.vatCode,
      ...(item.paymentSubject === undefined ? {} : { payment_subject: item.paymentSubject }),
      ...(item.paymentMode === undefined ? {} : { payment_mode: item.paymentMode }),
    };
  });
  if (
    receipt.taxSystemCode !== undefined &&
    !(Number.isInteger(receipt.taxSystemCode) && receipt.taxSystemCode >= 1 && receipt.taxSystemCode <= 6)
  ) {
    throw invalid("receipt.tax_system_code", "tax_system_code must be an integer 1–6");
  }
  return {
    customer: {
      ...(customer.email === undefined ? {} : { email: customer.email }),
      ...(customer.phone === undefined ? {} : { phone: customer.phone }),
      ...(customer.fullName === undefined ? {} : { full_name: customer.fullName }),
    },
    items,
    ...(receipt.taxSystemCode === undefined ? {} : { tax_system_code: receipt.taxSystemCode }),
  };
}

export function encodeCreatePayment(request: CreatePaymentRequest): Json {
  const { confirmation } = request;
  if (confirmation.type !== "redirect")
    throw invalid("confirmation.type", "only redirect confirmations are supported");
  if (!isHttpUrl(confirmation.returnUrl) || confirmation.returnUrl.length > LIMITS.returnUrlChars) {
    throw invalid("confirmation.return_url", "return_url must be an http(s) URL of at most 2048 characters");
  }
  checkDescription(request.description, "description", LIMITS.descriptionChars);
  const metadata = encodeMetadata(request.metadata);
  return {
    amount: encodeAmount(request.amount, "amount"),
    capture: request.capture ?? false,
    confirmation: {
      type: "redirect",
      return_url: confirmation.returnUrl,
      ...(confirmation.locale === undefined ? {} : { locale: confirmation.locale }),
    },
    ...(request.description === undefined ? {} : { description: request.description }),
    ...(metadata === undefined ? {} : { metadata }),
    ...(request.receipt === undefined ? {} : { receipt: encodeReceipt(request.receipt) }),
  };
}

export function encodeCapture(amount: MonetaryAmount | undefined): Json {
  return amount === undefined ? {} : { amount: encodeAmount(amount, "amount") };
}

export function encodeCreateRefund(request: CreateRefundRequest): Json {
  assertObjectId(request.paymentId, "payment_id");
  checkDescription(request.description, "description", LIMITS.refundDescriptionChars);
  const metadata = encodeMetadata(request.metadata);
  return {
    payment_id: request.paymentId,
    amount: encodeAmount(request.amount, "amount"),
    ...(request.description === undefined ? {} : { description: request.description }),
    ...(metadata === undefined ? {} : { metadata }),
    ...(request.receipt === undefined ? {} : { receipt: encodeReceipt(request.receipt) }),
  };
}

function isHttpUrl(text: string): boolean {
  const url = URL.parse(text);
  return url !== null && (url.protocol === "https:" || url.protocol === "http:");
}

// ---------------------------------------------------------------------------------------------
// Decoding.

export class MalformedWireError extends Error {
  override readonly name = "MalformedWireError";
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function record(value: unknown, path: string): Json {
  if (!isRecord(value)) throw new MalformedWireError(path, "expected an object");
  return value;
}

function str(obj: Json, key: string, path: string): string {
  const value = obj[key];
  if (typeof value !== "string") throw new MalformedWireError(`${path}.${key}`, "expected a string");
  return value;
}

function optStr(obj: Json, key: string, path: string): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new MalformedWireError(`${path}.${key}`, "expected a string");
  return value;
}

function bool(obj: Json, key: string, path: string): boolean {
  const value = obj[key];
  if (typeof value !== "boolean") throw new MalformedWireError(`${path}.${key}`, "expected a boolean");
  return value;
}

function optBool(obj: Json, key: string, path: string): boolean | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw new MalformedWireError(`${path}.${key}`, "expected a boolean");
  return value;
}

function amount(value: unknown, path: string): MonetaryAmount {
  const obj = record(value, path);
  const wire = { value: str(obj, "value", path), currency: str(obj, "currency", path) };
  try {
    return fromWireAmount(wire);
  } catch (error) {
    if (error instanceof MoneyFormatError) throw new MalformedWireError(`${path}.value`, error.message);
    throw error;
  }
}

function optAmount(obj: Json, key: string, path: string): MonetaryAmount | undefined {
  const value = obj[key];
  return value === undefined || value === null ? undefined : amount(value, `${path}.${key}`);
}

function timestamp(obj: Json, key: string, path: string): string {
  const value = str(obj, key, path);
  if (Number.isNaN(Date.parse(value)))
    throw new MalformedWireError(`${path}.${key}`, "expected an ISO-8601 timestamp");
  return value;
}

function optTimestamp(obj: Json, key: string, path: string): string | undefined {
  return obj[key] === undefined || obj[key] === null ? undefined : timestamp(obj, key, path);
}

function objectId(obj: Json, key: string, path: string): string {
  const value = str(obj, key, path);
  if (value.length === 0 || value.length > LIMITS.objectIdChars || !OBJECT_ID.test(value)) {
    throw new MalformedWireError(`${path}.${key}`, "expected an object id");
  }
  return value;
}

function oneOf<T extends string>(allowed: readonly T[], obj: Json, key: string, path: string): T {
  const value = str(obj, key, path);
  const found = allowed.find((candidate) => candidate === value);
  if (found === undefined)
    throw new MalformedWireError(`${path}.${key}`, `unexpected value ${JSON.stringify(value)}`);
  return found;
}

function metadata(value: unknown, path: string): Metadata {
  if (value === undefined || value === null) return {};
  const obj = record(value, path);
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(obj)) {
    if (typeof item !== "string") throw new MalformedWireError(`${path}.${key}`, "expected a string");
    out[key] = item;
  }
  return out;
}

function cancellationDetails(value: unknown, path: string): CancellationDetails | undefined {
  if (value === undefined || value === null) return undefined;
  const obj = record(value, path);
  return { party: str(obj, "party", path), reason: str(obj, "reason", path) };
}

function confirmation(value: unknown, path: string): Confirmation | undefined {
  if (value === undefined || value === null) return undefined;
  const obj = record(value, path);
  const confirmationUrl = optStr(obj, "confirmation_url", path);
  const returnUrl = optStr(obj, "return_url", path);
  return {
    type: str(obj, "type", path),
    ...(confirmationUrl === undefined ? {} : { confirmationUrl }),
    ...(returnUrl === undefined ? {} : { returnUrl }),
  };
}

function paymentMethod(value: unknown, path: string): PaymentMethod | undefined {
  if (value === undefined || value === null) return undefined;
  const obj = record(value, path);
  const id = optStr(obj, "id", path);
  const saved = optBool(obj, "saved", path);
  const title = optStr(obj, "title", path);
  return {
    type: str(obj, "type", path),
    ...(id === undefined ? {} : { id }),
    ...(saved === undefined ? {} : { saved }),
    ...(title === undefined ? {} : { title }),
    raw: obj,
  };
}

export function decodePayment(value: unknown, path = "payment"): Payment {
  const obj = record(value, path);
  const status: PaymentStatus = oneOf(PAYMENT_STATUSES, obj, "status", path);
  const incomeAmount = optAmount(obj, "income_amount", path);
  const refundedAmount = optAmount(obj, "refunded_amount", path);
  const description = optStr(obj, "description", path);
  const capturedAt = optTimestamp(obj, "captured_at", path);
  const expiresAt = optTimestamp(obj, "expires_at", path);
  const conf = confirmation(obj["confirmation"], `${path}.confirmation`);
  const method = paymentMethod(obj["payment_method"], `${path}.payment_method`);
  const cancellation = cancellationDetails(obj["cancellation_details"], `${path}.cancellation_details`);
  return {
    id: objectId(obj, "id", path),
    status,
    paid: bool(obj, "paid", path),
    amount: amount(obj["amount"], `${path}.amount`),
    createdAt: timestamp(obj, "created_at", path),
    test: bool(obj, "test", path),
    // Absent on some non-final states in older API answers: not refundable then.
    refundable: optBool(obj, "refundable", path) ?? false,
    metadata: metadata(obj["metadata"], `${path}.metadata`),
    ...(incomeAmount === undefined ? {} : { incomeAmount }),
    ...(refundedAmount === undefined ? {} : { refundedAmount }),
    ...(description === undefined ? {} : { description }),
    ...(capturedAt === undefined ? {} : { capturedAt }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(conf === undefined ? {} : { confirmation: conf }),
    ...(method === undefined ? {} : { paymentMethod: method }),
    ...(cancellation === undefined ? {} : { cancellationDetails: cancellation }),
  };
}

export function decodeRefund(value: unknown, path = "refund"): Refund {
  const obj = record(value, path);
  const status: RefundStatus = oneOf(REFUND_STATUSES, obj, "status", path);
  const description = optStr(obj, "description", path);
  const cancellation = cancellationDetails(obj["cancellation_details"], `${path}.cancellation_details`);
  const meta = obj["metadata"] === undefined ? undefined : metadata(obj["metadata"], `${path}.metadata`);
  return {
    id: objectId(obj, "id", path),
    paymentId: objectId(obj, "payment_id", path),
    status,
    amount: amount(obj["amount"], `${path}.amount`),
    createdAt: timestamp(obj, "created_at", path),
    ...(description === undefined ? {} : { description }),
    ...(cancellation === undefined ? {} : { cancellationDetails: cancellation }),
    ...(meta === undefined ? {} : { metadata: meta }),
  };
}

export function decodeRefundList(value: unknown, path = "refund_list"): RefundList {
  const obj = record(value, path);
  const items = obj["items"];
  if (!Array.isArray(items)) throw new MalformedWireError(`${path}.items`, "expected an array");
  const nextCursor = optStr(obj, "next_cursor", path);
  return {
    items: items.map((item, index) => decodeRefund(item, `${path}.items[${String(index)}]`)),
    ...(nextCursor === undefined ? {} : { nextCursor }),
  };
}

/** The fields of an error (or 202 "processing") body. Lenient: a proxy's HTML page yields {}. */
export interface WireErrorBody {
  readonly id?: string;
  readonly code?: string;
  readonly description?: string;
  readonly parameter?: string;
  readonly retryAfterMs?: number;
}

// Strings from the error body end up in messages and logs: keep them short.
const MAX_ERROR_TEXT_CHARS = 512;

export function decodeErrorBody(value: unknown): WireErrorBody {
  if (!isRecord(value)) return {};
  const text = (key: string): string | undefined => {
    const item = value[key];
    return typeof item === "string" ? item.slice(0, MAX_ERROR_TEXT_CHARS) : undefined;
  };
  const retryAfter = value["retry_after"];
  const retryAfterMs =
    typeof retryAfter === "number" && Number.isSafeInteger(retryAfter) && retryAfter >= 0
      ? retryAfter
      : undefined;
  const id = text("id");
  const code = text("code");
  const description = text("description");
  const parameter = text("parameter");
  return {
    ...(id === undefined ? {} : { id }),
    ...(code === undefined ? {} : { code }),
    ...(description === undefined ? {} : { description }),
    ...(parameter === undefined ? {} : { parameter }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}
