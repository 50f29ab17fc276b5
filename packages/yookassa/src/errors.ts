// One closed vocabulary of failures of a YooKassa call, so callers branch on `kind`, never on text.
// Messages are built only from fields listed here: never from headers, URLs with credentials or
// request bodies, so logging an error cannot leak the shop's secret key.

export type YooKassaErrorKind =
  /** 400: the request was refused; nothing happened. `parameter` names the offending field. */
  | "invalid_request"
  /** 401: wrong shopId / secret key. */
  | "invalid_credentials"
  /** 403: the shop may not do this (e.g. refunds disabled). */
  | "forbidden"
  /** 404: no such object (or not visible to this shop). */
  | "not_found"
  /** 429 after every attempt: YooKassa asked us to slow down; nothing happened. */
  | "too_many_requests"
  /** 5xx after every attempt: the result is unknown; repeat with the same key or GET the object. */
  | "internal_server_error"
  /** 202 after every attempt: YooKassa is still processing; repeat later with the same key. */
  | "processing"
  /** No answer within the client timeout. The request may have been performed. */
  | "timeout"
  /** Connection refused, reset or dropped. The request may have been performed. */
  | "network"
  /** A 2xx answer (or an error answer) we could not understand. */
  | "malformed_response";

const RETRYABLE_KINDS: ReadonlySet<YooKassaErrorKind> = new Set([
  "too_many_requests",
  "internal_server_error",
  "processing",
  "timeout",
  "network",
]);

export interface YooKassaErrorInit {
  readonly kind: YooKassaErrorKind;
  /** True when a POST may have taken effect at YooKassa (re-read the object or repeat with the same key). */
  readonly outcomeUnknown: boolean;
  readonly httpStatus?: number;
  /** YooKassa's error id (quote it to their support). */
  readonly id?: string;
  /** YooKassa's `code`, e.g. "invalid_request". */
  readonly code?: string;
  readonly description?: string;
  /** The request field YooKassa (or our own validation) refused, e.g. "amount.value", "Idempotence-Key". */
  readonly parameter?: string;
  /** `retry_after` from the last answer, in milliseconds. */
  readonly retryAfterMs?: number;
  /** How many HTTP attempts were made (0 when refused before sending). */
  readonly attempts?: number;
  readonly cause?: unknown;
}

export class YooKassaError extends Error {
  override readonly name = "YooKassaError";
  readonly kind: YooKassaErrorKind;
  readonly outcomeUnknown: boolean;
  readonly httpStatus: number | undefined;
  readonly id: string | undefined;
  readonly code: string | undefined;
  readonly description: string | undefined;
  readonly parameter: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly attempts: number;

  constructor(init: YooKassaErrorInit) {
    super(buildMessage(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.outcomeUnknown = init.outcomeUnknown;
    this.httpStatus = init.httpStatus;
    this.id = init.id;
    this.code = init.code;
    this.description = init.description;
    this.parameter = init.parameter;
    this.retryAfterMs = init.retryAfterMs;
    this.attempts = init.attempts ?? 0;
  }

  /** Whether repeating the same call (same Idempotence-Key, same body) later can succeed. */
  get retryable(): boolean {
    return RETRYABLE_KINDS.has(this.kind);
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      kind: this.kind,
      message: this.message,
      outcomeUnknown: this.outcomeUnknown,
      retryable: this.retryable,
      httpStatus: this.httpStatus,
      id: this.id,
      code: this.code,
      description: this.description,
      parameter: this.parameter,
      retryAfterMs: this.retryAfterMs,
      attempts: this.attempts,
    };
  }
}

export function isYooKassaError(value: unknown): value is YooKassaError {
  return value instanceof YooKassaError;
}

function buildMessage(init: YooKassaErrorInit): string {
  const status = init.httpStatus === undefined ? "" : ` (HTTP ${String(init.httpStatus)})`;
  const description = init.description === undefined ? "" : `: ${init.description}`;
  const parameter = init.parameter === undefined ? "" : ` [parameter ${init.parameter}]`;
  return `YooKassa ${init.kind}${status}${description}${parameter}`;
}

/**
 * Replaces every occurrence of the given secrets in text coming from the outside (error
 * descriptions, low-level error messages), in case a proxy or a broken server echoes our headers.
 */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const needles = secrets.filter((secret) => secret.length >= 4);
  return (text) => {
    let out = text;
    for (const needle of needles) out = out.split(needle).join("[REDACTED]");
    return out;
  };
}
