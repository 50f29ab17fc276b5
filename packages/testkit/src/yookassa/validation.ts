// Request validation as YooKassa does it: the first problem found is answered as 400
// invalid_request naming the offending `parameter`.
import { readAmountValue, readQuantityMilli } from "./money.js";

type Json = Record<string, unknown>;

export interface ValidationFailure {
  readonly ok: false;
  readonly parameter: string | undefined;
  readonly description: string;
}
export type Validated<T> = { readonly ok: true; readonly value: T } | ValidationFailure;

export interface ParsedAmount {
  readonly amountMinor: bigint;
  readonly currency: string;
}

export interface ParsedCreatePayment {
  readonly amount: ParsedAmount;
  readonly capture: boolean;
  readonly returnUrl: string;
  readonly description: string | undefined;
  readonly metadata: Record<string, string>;
  readonly receipt: Json | undefined;
}

export interface ParsedCreateRefund {
  readonly paymentId: string;
  readonly amount: ParsedAmount;
  readonly description: string | undefined;
  readonly metadata: Record<string, string> | undefined;
  readonly receipt: Json | undefined;
}

export interface ValidationRules {
  readonly currencies: readonly string[];
  readonly receiptsRequired: boolean;
}

class Refusal extends Error {
  constructor(
    readonly parameter: string | undefined,
    readonly description: string,
  ) {
    super(description);
  }
}

function refuse(parameter: string | undefined, description: string): never {
  throw new Refusal(parameter, description);
}

function run<T>(body: () => T): Validated<T> {
  try {
    return { ok: true, value: body() };
  } catch (error) {
    if (error instanceof Refusal)
      return { ok: false, parameter: error.parameter, description: error.description };
    throw error;
  }
}

function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function chars(text: string): number {
  return [...text].length;
}

function amountOf(value: unknown, parameter: string, rules: ValidationRules): ParsedAmount {
  if (!isRecord(value)) refuse(parameter, `${parameter} is required`);
  const amountMinor = readAmountValue(value["value"]);
  if (amountMinor === undefined) refuse(`${parameter}.value`, `Invalid ${parameter}.value format`);
  if (amountMinor <= 0n) refuse(`${parameter}.value`, `${parameter}.value must be positive`);
  const currency = value["currency"];
  if (typeof currency !== "string" || !rules.currencies.includes(currency)) {
    refuse(`${parameter}.currency`, `Unsupported currency ${String(currency)}`);
  }
  return { amountMinor, currency };
}

function optionalText(value: unknown, parameter: string, maxChars: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || chars(value) > maxChars) {
    refuse(parameter, `${parameter} must be a string of at most ${String(maxChars)} characters`);
  }
  return value;
}

function metadataOf(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) refuse("metadata", "metadata must be an object");
  const entries = Object.entries(value);
  if (entries.length > 16) refuse("metadata", "metadata may have at most 16 keys");
  const out: Record<string, string> = {};
  for (const [key, item] of entries) {
    if (chars(key) > 32) refuse("metadata", "metadata key names must be at most 32 characters");
    if (typeof item !== "string" || chars(item) > 512) {
      refuse("metadata", "metadata values must be strings of at most 512 characters");
    }
    out[key] = item;
  }
  return out;
}

function isHttpUrl(text: string): boolean {
  const url = URL.parse(text);
  return url !== null && (url.protocol === "http:" || url.protocol === "https:");
}

function receiptOf(value: unknown, total: ParsedAmount, rules: ValidationRules): Json | undefined {
  if (value === undefined || value === null) {
    if (rules.receiptsRequired) refuse("receipt", "Receipt is missing or illegal");
    return undefined;
  }
  if (!isRecord(value)) refuse("receipt", "receipt must be an object");
  const customer = value["customer"];
  const email = isRecord(customer) ? customer["email"] : undefined;
  const phone = isRecord(customer) ? customer["phone"] : undefined;
  const emailOk = typeof email === "string" && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email);
  const phoneOk = typeof phone === "string" && /^\+?[0-9]{7,15}$/.test(phone);
  if (!emailOk && !phoneOk) refuse("receipt.customer", "receipt.customer needs a valid email or phone");
  const items = value["items"];
  if (!Array.isArray(items) || items.length === 0 || items.length > 100) {
    refuse("receipt.items", "receipt.items must have 1–100 items");
  }
  let sumMilliMinor = 0n;
  items.forEach((item: unknown, index) => {
    const at = `receipt.items[${String(index)}]`;
    if (!isRecord(item)) refuse(at, `${at} must be an object`);
    const description = item["description"];
    if (typeof description !== "string" || description.length === 0 || chars(description) > 128) {
      refuse(`${at}.description`, "description must be 1–128 characters");
    }
    const quantityMilli = readQuantityMilli(item["quantity"]);
    if (quantityMilli === undefined) refuse(`${at}.quantity`, "quantity must be a positive number");
    const price = amountOf(item["amount"], `${at}.amount`, rules);
    if (price.currency !== total.currency)
      refuse(`${at}.amount.currency`, "item currency differs from the amount");
    const vat = item["vat_code"];
    if (typeof vat !== "number" || !Number.isInteger(vat) || vat < 1 || vat > 12) {
      refuse(`${at}.vat_code`, "vat_code must be an integer 1–12");
    }
    for (const key of ["payment_subject", "payment_mode"]) {
      const text = item[key];
      if (text !== undefined && (typeof text !== "string" || text.length === 0 || text.length > 64)) {
        refuse(`${at}.${key}`, `${key} must be a non-empty string`);
      }
    }
    sumMilliMinor += price.amountMinor * quantityMilli;
  });
  // Exact comparison in thousandths of a kopeck: the items must add up to the amount.
  if (sumMilliMinor !== total.amountMinor * 1000n) {
    refuse("receipt", "The sum of receipt items does not match the amount");
  }
  return value;
}

export function validateCreatePayment(body: unknown, rules: ValidationRules): Validated<ParsedCreatePayment> {
  return run(() => {
    if (!isRecord(body)) refuse(undefined, "Request body must be a JSON object");
    const amount = amountOf(body["amount"], "amount", rules);
    const capture = body["capture"];
    if (capture !== undefined && typeof capture !== "boolean") refuse("capture", "capture must be a boolean");
    const confirmation = body["confirmation"];
    if (!isRecord(confirmation)) refuse("confirmation", "confirmation is required");
    if (confirmation["type"] !== "redirect")
      refuse("confirmation.type", "Only redirect confirmation is supported by the fake");
    const returnUrl = confirmation["return_url"];
    if (typeof returnUrl !== "string" || returnUrl.length > 2048 || !isHttpUrl(returnUrl)) {
      refuse("confirmation.return_url", "return_url must be an http(s) URL");
    }
    const description = optionalText(body["description"], "description", 128);
    const metadata = metadataOf(body["metadata"]) ?? {};
    const receipt = receiptOf(body["receipt"], amount, rules);
    return { amount, capture: capture ?? false, returnUrl, description, metadata, receipt };
  });
}

export function validateCapture(body: unknown, rules: ValidationRules): Validated<ParsedAmount | undefined> {
  return run(() => {
    if (!isRecord(body)) refuse(undefined, "Request body must be a JSON object");
    return body["amount"] === undefined ? undefined : amountOf(body["amount"], "amount", rules);
  });
}

export function validateCreateRefund(body: unknown, rules: ValidationRules): Validated<ParsedCreateRefund> {
  return run(() => {
    if (!isRecord(body)) refuse(undefined, "Request body must be a JSON object");
    const paymentId = body["payment_id"];
    if (typeof paymentId !== "string" || paymentId.length === 0)
      refuse("payment_id", "payment_id is required");
    const amount = amountOf(body["amount"], "amount", rules);
    const description = optionalText(body["description"], "description", 250);
    const metadata = metadataOf(body["metadata"]);
    const receipt = receiptOf(body["receipt"], amount, rules);
    return { paymentId, amount, description, metadata, receipt };
  });
}

export interface ParsedRefundList {
  readonly paymentId: string | undefined;
  readonly status: "pending" | "succeeded" | "canceled" | undefined;
  /** 1–100, default 10, as at YooKassa. */
  readonly limit: number;
  /** Position after the last item of the previous page (the fake's cursor). */
  readonly offset: number;
}

const REFUND_STATUS_FILTERS = ["pending", "succeeded", "canceled"] as const;

/** GET /refunds: filters payment_id and status, a page of `limit`, continued by `cursor`. */
export function validateRefundList(query: URLSearchParams): Validated<ParsedRefundList> {
  return run(() => {
    const limitText = query.get("limit") ?? "10";
    const limit = /^\d{1,3}$/.test(limitText) ? Number(limitText) : 0;
    if (limit < 1 || limit > 100) refuse("limit", "limit must be an integer from 1 to 100");
    const status = query.get("status") ?? undefined;
    if (status !== undefined && !(REFUND_STATUS_FILTERS as readonly string[]).includes(status))
      refuse("status", "status must be pending, succeeded or canceled");
    const cursor = query.get("cursor");
    const offset = cursor === null ? 0 : decodeCursor(cursor);
    if (offset === undefined) refuse("cursor", "cursor is not a next_cursor of an earlier page");
    return {
      paymentId: query.get("payment_id") ?? undefined,
      status: status as ParsedRefundList["status"],
      limit,
      offset,
    };
  });
}

export function encodeCursor(offset: number): string {
  return Buffer.from(`refunds:${offset}`).toString("base64url");
}

function decodeCursor(cursor: string): number | undefined {
  const match = /^refunds:(\d{1,9})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
