// A thin YooKassa API v3 client on global fetch. Every POST carries the caller's Idempotence-Key and
// is repeated with exactly that key and byte-identical body after a timeout, a dropped connection,
// a 500 or a 202, so a retry can never create a second payment. Retries are bounded.
import { setTimeout as delay } from "node:timers/promises";

import { YooKassaError, createRedactor } from "./errors.js";
import type { YooKassaErrorKind } from "./errors.js";
import type { MonetaryAmount } from "./money.js";
import type {
  CreatePaymentRequest,
  CreateRefundRequest,
  Payment,
  Refund,
  RefundList,
  RefundListQuery,
} from "./types.js";
import {
  MalformedWireError,
  assertIdempotenceKey,
  assertObjectId,
  decodeErrorBody,
  decodePayment,
  decodeRefund,
  decodeRefundList,
  encodeCapture,
  encodeCreatePayment,
  encodeCreateRefund,
  invalid,
} from "./wire.js";
import type { WireErrorBody } from "./wire.js";

export const DEFAULT_API_URL = "https://api.yookassa.ru/v3/";
/** YooKassa may take up to 30 s to answer; a shorter timeout turns slow successes into "unknown". */
export const MIN_TIMEOUT_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 35_000;
export const DEFAULT_MAX_ATTEMPTS = 5;
const MAX_MAX_ATTEMPTS = 10;
const MAX_TIMEOUT_MS = 300_000;
/** Answers larger than this are not YooKassa objects; refuse to buffer them. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface RetryEvent {
  readonly operation: string;
  /** The attempt that just failed (1-based). */
  readonly attempt: number;
  readonly reason: YooKassaErrorKind;
  readonly delayMs: number;
}

export interface YooKassaClientOptions {
  readonly shopId: string;
  readonly secretKey: string;
  /** Base URL ending in /v3/. Default: the production API. */
  readonly apiUrl?: string;
  /** Per attempt. Must be above 30 s (YooKassa's own processing limit) unless `unsafeAllowShortTimeout`. */
  readonly timeoutMs?: number;
  /** Total HTTP attempts per call, 1–10. Default 5. */
  readonly maxAttempts?: number;
  /** First backoff step after a timeout or a dropped connection; doubles per attempt. Default 1 s. */
  readonly retryDelayMs?: number;
  /** Upper bound of any wait between attempts, including YooKassa's `retry_after`. Default 30 s. */
  readonly maxRetryDelayMs?: number;
  /** For tests against the local fake only: allow `timeoutMs` ≤ 30 s. */
  readonly unsafeAllowShortTimeout?: boolean;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called before each wait between attempts (logging, metrics). Must not throw. */
  readonly onRetry?: (event: RetryEvent) => void;
}

export interface YooKassaClient {
  /** POST /payments. Persist `idempotenceKey` with your payment row before calling. */
  createPayment(request: CreatePaymentRequest, idempotenceKey: string): Promise<Payment>;
  /** GET /payments/{id}: the only answer to act on (never a notification body). */
  getPayment(paymentId: string): Promise<Payment>;
  /** POST /payments/{id}/capture, optionally for less than authorised. */
  capturePayment(paymentId: string, idempotenceKey: string, amount?: MonetaryAmount): Promise<Payment>;
  /** POST /payments/{id}/cancel (only `waiting_for_capture` payments). */
  cancelPayment(paymentId: string, idempotenceKey: string): Promise<Payment>;
  /** POST /refunds (only `succeeded` payments; total refunded ≤ paid). */
  createRefund(request: CreateRefundRequest, idempotenceKey: string): Promise<Refund>;
  getRefund(refundId: string): Promise<Refund>;
  /** GET /refunds?payment_id=…: finds a refund whose create answer never arrived (by its metadata). */
  listRefunds(query: RefundListQuery): Promise<RefundList>;
}

interface CallSpec<T> {
  readonly operation: string;
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly body?: string;
  readonly idempotenceKey?: string;
  readonly decode: (value: unknown) => T;
}

type AttemptResult =
  { readonly ok: true; readonly json: unknown } | { readonly ok: false; readonly error: YooKassaError };

const KIND_BY_STATUS: ReadonlyMap<number, YooKassaErrorKind> = new Map([
  [400, "invalid_request"],
  [401, "invalid_credentials"],
  [403, "forbidden"],
  [404, "not_found"],
  [429, "too_many_requests"],
]);

const KIND_BY_CODE: ReadonlyMap<string, YooKassaErrorKind> = new Map([
  ["invalid_request", "invalid_request"],
  ["invalid_credentials", "invalid_credentials"],
  ["forbidden", "forbidden"],
  ["not_found", "not_found"],
  ["too_many_requests", "too_many_requests"],
  ["internal_server_error", "internal_server_error"],
]);

function checkIntegerOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${String(min)}, ${String(max)}]`);
  }
  return value;
}

function normaliseApiUrl(apiUrl: string): URL {
  const url = URL.parse(apiUrl.endsWith("/") ? apiUrl : `${apiUrl}/`);
  if (url === null || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new RangeError("apiUrl must be an http(s) URL");
  }
  // Credentials travel in the Authorization header only, never in a URL that could be logged.
  if (url.username !== "" || url.password !== "") throw new RangeError("apiUrl must not contain credentials");
  return url;
}

export function createYooKassaClient(options: YooKassaClientOptions): YooKassaClient {
  if (options.shopId.length === 0 || options.shopId.includes(":")) throw new RangeError("shopId is invalid");
  if (options.secretKey.length === 0) throw new RangeError("secretKey is empty");
  const baseUrl = normaliseApiUrl(options.apiUrl ?? DEFAULT_API_URL);
  const timeoutMs = checkIntegerOption(
    "timeoutMs",
    options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    options.unsafeAllowShortTimeout === true ? 1 : MIN_TIMEOUT_MS + 1,
    MAX_TIMEOUT_MS,
  );
  const maxAttempts = checkIntegerOption(
    "maxAttempts",
    options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    1,
    MAX_MAX_ATTEMPTS,
  );
  const maxRetryDelayMs = checkIntegerOption(
    "maxRetryDelayMs",
    options.maxRetryDelayMs ?? 30_000,
    0,
    600_000,
  );
  const retryDelayMs = checkIntegerOption("retryDelayMs", options.retryDelayMs ?? 1_000, 0, maxRetryDelayMs);
  const fetchFn = options.fetch ?? globalThis.fetch;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const token = Buffer.from(`${options.shopId}:${options.secretKey}`, "utf8").toString("base64");
  const authorization = `Basic ${token}`;
  // Anything that came from outside and may end up in a message is scrubbed of our secrets.
  const redact = createRedactor([options.secretKey, token, `${options.shopId}:${options.secretKey}`]);

  function errorFromBody(
    kind: YooKassaErrorKind,
    status: number,
    body: WireErrorBody,
    outcomeUnknown: boolean,
  ): YooKassaError {
    return new YooKassaError({
      kind,
      outcomeUnknown,
      httpStatus: status,
      ...(body.id === undefined ? {} : { id: redact(body.id) }),
      ...(body.code === undefined ? {} : { code: redact(body.code) }),
      ...(body.description === undefined ? {} : { description: redact(body.description) }),
      ...(body.parameter === undefined ? {} : { parameter: redact(body.parameter) }),
      ...(body.retryAfterMs === undefined ? {} : { retryAfterMs: body.retryAfterMs }),
    });
  }

  /** A copy of a low-level error with secrets scrubbed, keeping `code` (ECONNRESET, …) for diagnosis. */
  function sanitiseCause(error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    const inner = error instanceof Error ? error.cause : undefined;
    const innerText = inner instanceof Error ? `: ${inner.message}` : "";
    const code =
      inner instanceof Error && "code" in inner && typeof inner.code === "string"
        ? inner.code
        : error instanceof Error && "code" in error && typeof error.code === "string"
          ? error.code
          : undefined;
    const copy = new Error(redact(`${message}${innerText}`));
    if (code !== undefined) Object.assign(copy, { code });
    return copy;
  }

  async function attemptOnce(spec: CallSpec<unknown>): Promise<AttemptResult> {
    const isPost = spec.method === "POST";
    const headers: Record<string, string> = { Authorization: authorization, Accept: "application/json" };
    if (spec.idempotenceKey !== undefined) headers["Idempotence-Key"] = spec.idempotenceKey;
    if (spec.body !== undefined) headers["Content-Type"] = "application/json";
    const signal = AbortSignal.timeout(timeoutMs);
    let status: number;
    let text: string;
    try {
      const response = await fetchFn(new URL(spec.path, baseUrl), {
        method: spec.method,
        headers,
        ...(spec.body === undefined ? {} : { body: spec.body }),
        signal,
        // YooKassa never redirects API calls: a 3xx is answered as an unexpected status, not followed.
        redirect: "manual",
      });
      status = response.status;
      text = await readCapped(response);
    } catch (error) {
      if (error instanceof ResponseTooLargeError) {
        return {
          ok: false,
          error: new YooKassaError({
            kind: "malformed_response",
            outcomeUnknown: isPost,
            description: error.message,
          }),
        };
      }
      const timedOut = signal.aborted || (error instanceof Error && error.name === "TimeoutError");
      return {
        ok: false,
        error: new YooKassaError({
          kind: timedOut ? "timeout" : "network",
          outcomeUnknown: isPost,
          description: timedOut ? `no answer within ${String(timeoutMs)} ms` : "connection failed",
          cause: sanitiseCause(error),
        }),
      };
    }

    let json: unknown;
    let parsed = true;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      parsed = false;
    }

    if (status === 202) {
      return { ok: false, error: errorFromBody("processing", status, decodeErrorBody(json), isPost) };
    }
    if (status >= 200 && status < 300) {
      if (!parsed) {
        return {
          ok: false,
          error: new YooKassaError({
            kind: "malformed_response",
            outcomeUnknown: isPost,
            httpStatus: status,
            description: "answer is not valid JSON",
          }),
        };
      }
      return { ok: true, json };
    }
    const body = decodeErrorBody(json);
    if (status >= 500)
      return { ok: false, error: errorFromBody("internal_server_error", status, body, isPost) };
    const kind =
      KIND_BY_STATUS.get(status) ?? (body.code === undefined ? undefined : KIND_BY_CODE.get(body.code));
    if (kind === undefined) {
      return {
        ok: false,
        error: errorFromBody(
          "malformed_response",
          status,
          { ...body, description: `unexpected HTTP status` },
          isPost,
        ),
      };
    }
    return { ok: false, error: errorFromBody(kind, status, body, false) };
  }

  function backoffMs(error: YooKassaError, attempt: number): number {
    if (error.retryAfterMs !== undefined) return Math.min(error.retryAfterMs, maxRetryDelayMs);
    const exponential = Math.min(retryDelayMs * 2 ** (attempt - 1), maxRetryDelayMs);
    // Jitter in [50%, 100%] so many clients retrying together do not hit YooKassa in lockstep.
    return Math.round(exponential / 2 + (Math.random() * exponential) / 2);
  }

  async function call<T>(spec: CallSpec<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const result = await attemptOnce(spec);
      if (result.ok) {
        try {
          return spec.decode(result.json);
        } catch (error) {
          if (!(error instanceof MalformedWireError)) throw error;
          throw new YooKassaError({
            kind: "malformed_response",
            outcomeUnknown: spec.method === "POST",
            httpStatus: 200,
            description: redact(error.message),
            attempts: attempt,
          });
        }
      }
      const { error } = result;
      if (!error.retryable || attempt >= maxAttempts) throw withAttempts(error, attempt);
      const waitMs = backoffMs(error, attempt);
      options.onRetry?.({ operation: spec.operation, attempt, reason: error.kind, delayMs: waitMs });
      await sleep(waitMs);
    }
  }

  function post<T>(
    operation: string,
    path: string,
    idempotenceKey: string,
    body: Record<string, unknown>,
    decode: (value: unknown) => T,
  ): Promise<T> {
    // Serialised once: every retry sends the very same bytes under the very same key.
    return call({ operation, method: "POST", path, idempotenceKey, body: JSON.stringify(body), decode });
  }

  // Validation errors are thrown as rejected promises, like every other failure of a call.
  return {
    async createPayment(request, idempotenceKey) {
      assertIdempotenceKey(idempotenceKey);
      return post("createPayment", "payments", idempotenceKey, encodeCreatePayment(request), decodePayment);
    },
    async getPayment(paymentId) {
      assertObjectId(paymentId, "payment_id");
      return call({
        operation: "getPayment",
        method: "GET",
        path: `payments/${paymentId}`,
        decode: decodePayment,
      });
    },
    async capturePayment(paymentId, idempotenceKey, amount) {
      assertObjectId(paymentId, "payment_id");
      assertIdempotenceKey(idempotenceKey);
      return post(
        "capturePayment",
        `payments/${paymentId}/capture`,
        idempotenceKey,
        encodeCapture(amount),
        decodePayment,
      );
    },
    async cancelPayment(paymentId, idempotenceKey) {
      assertObjectId(paymentId, "payment_id");
      assertIdempotenceKey(idempotenceKey);
      return post("cancelPayment", `payments/${paymentId}/cancel`, idempotenceKey, {}, decodePayment);
    },
    async createRefund(request, idempotenceKey) {
      assertIdempotenceKey(idempotenceKey);
      return post("createRefund", "refunds", idempotenceKey, encodeCreateRefund(request), decodeRefund);
    },
    async getRefund(refundId) {
      assertObjectId(refundId, "refund_id");
      return call({
        operation: "getRefund",
        method: "GET",
        path: `refunds/${refundId}`,
        decode: decodeRefund,
      });
    },
    async listRefunds(query) {
      assertObjectId(query.paymentId, "payment_id");
      const limit = query.limit ?? 100;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100) {
        throw invalid("limit", "limit must be an integer from 1 to 100");
      }
      const search = new URLSearchParams({ payment_id: query.paymentId, limit: String(limit) });
      if (query.cursor !== undefined) search.set("cursor", query.cursor);
      return call({
        operation: "listRefunds",
        method: "GET",
        path: `refunds?${search.toString()}`,
        decode: decodeRefundList,
      });
    },
  };
}

function withAttempts(error: YooKassaError, attempts: number): YooKassaError {
  return new YooKassaError({
    kind: error.kind,
    outcomeUnknown: error.outcomeUnknown,
    attempts,
    ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
    ...(error.id === undefined ? {} : { id: error.id }),
    ...(error.code === undefined ? {} : { code: error.code }),
    ...(error.description === undefined ? {} : { description: error.description }),
    ...(error.parameter === undefined ? {} : { parameter: error.parameter }),
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    ...(error.cause === undefined ? {} : { cause: error.cause }),
  });
}

class ResponseTooLargeError extends Error {}

async function readCapped(response: Response): Promise<string> {
  if (response.body === null) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  // fetch bodies are byte streams; Node's typings leave the chunk type open.
  const body = response.body as AsyncIterable<Uint8Array>;
  for await (const chunk of body) {
    total += chunk.byteLength;
    // Leaving the loop by throwing cancels the stream, so the rest is never downloaded.
    if (total > MAX_RESPONSE_BYTES) {
      throw new ResponseTooLargeError(`answer is larger than ${String(MAX_RESPONSE_BYTES)} bytes`);
    }
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
