// The closed vocabulary of provider failures. The worker branches on `kind` (retry or not) and shows
// `userMessage`; `message` is for logs and may carry provider details a user should not see.

export type ProviderErrorKind = "transient" | "terminal";

/** Every code with its kind: the kind follows from the code, so the two can never disagree. */
export const PROVIDER_ERROR_KINDS = {
  // Transient: the same job may succeed later (nak with a delay).
  timeout: "transient",
  rate_limited: "transient",
  provider_unavailable: "transient",
  network_error: "transient",
  // A gateway page or a truncated body is usually a passing fault; retries stay bounded by max_deliver.
  bad_response: "transient",
  aborted: "transient",
  // Terminal: retrying the same input cannot help (term the message, release the hold).
  content_rejected: "terminal",
  invalid_input: "terminal",
  unsupported_operation: "terminal",
  misconfigured: "terminal",
  no_image: "terminal",
  internal: "terminal",
} as const satisfies Record<string, ProviderErrorKind>;

export type ProviderErrorCode = keyof typeof PROVIDER_ERROR_KINDS;

const DEFAULT_USER_MESSAGES: Record<ProviderErrorCode, string> = {
  timeout: "The image service took too long to answer. Please try again.",
  rate_limited: "The image service is busy right now. Please try again in a minute.",
  provider_unavailable: "The image service is temporarily unavailable. Please try again later.",
  network_error: "The image service is temporarily unavailable. Please try again later.",
  bad_response: "The image service returned an unexpected result. Please try again.",
  aborted: "The request was interrupted. Please try again.",
  content_rejected: "The request was declined by the content policy. Please change the prompt or the photo.",
  invalid_input: "The request could not be processed. Please check the prompt and the photos.",
  unsupported_operation: "This operation is not available right now.",
  misconfigured: "The image service is not available right now.",
  no_image: "No image could be made for this request. Please rephrase the prompt.",
  internal: "Something went wrong while making the image.",
};

/** Longest delay a provider may ask for; a larger Retry-After is clamped, not obeyed. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

export interface ProviderErrorOptions {
  userMessage?: string;
  retryAfterMs?: number;
  provider?: string;
  httpStatus?: number;
  cause?: unknown;
}

export class ProviderError extends Error {
  override readonly name = "ProviderError";
  readonly kind: ProviderErrorKind;
  readonly code: ProviderErrorCode;
  readonly userMessage: string;
  readonly retryAfterMs?: number;
  readonly provider?: string;
  readonly httpStatus?: number;

  constructor(code: ProviderErrorCode, message: string, options: ProviderErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kind = PROVIDER_ERROR_KINDS[code];
    this.userMessage = options.userMessage ?? DEFAULT_USER_MESSAGES[code];
    if (options.retryAfterMs !== undefined) {
      this.retryAfterMs = Math.min(Math.max(0, Math.round(options.retryAfterMs)), MAX_RETRY_AFTER_MS);
    }
    if (options.provider !== undefined) this.provider = options.provider;
    if (options.httpStatus !== undefined) this.httpStatus = options.httpStatus;
  }

  get transient(): boolean {
    return this.kind === "transient";
  }
}

export function isProviderError(value: unknown): value is ProviderError {
  return value instanceof ProviderError;
}

/** Anything a provider throws that is not a ProviderError is a bug: terminal, details kept for logs only. */
export function toProviderError(error: unknown, provider: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderError("internal", `${provider}: unexpected error: ${message}`, {
    provider,
    cause: error,
  });
}

/** The error for a job whose signal fired: a deadline is a timeout, anything else an interruption. */
export function abortError(signal: AbortSignal, provider: string): ProviderError {
  const reason: unknown = signal.reason;
  if (reason instanceof ProviderError) return reason;
  const timedOut = reason instanceof DOMException && reason.name === "TimeoutError";
  return new ProviderError(timedOut ? "timeout" : "aborted", `${provider}: job signal aborted`, {
    provider,
    cause: reason,
  });
}

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  /** 0..1 → a fraction of the delay; injected so tests are deterministic. */
  random?: () => number;
}

/**
 * Delay before the next attempt of a transient failure (for `nak(delay)`): exponential with jitter,
 * never shorter than the provider's Retry-After. `undefined` for terminal errors: do not retry.
 */
export function retryDelayMs(
  error: ProviderError,
  attempt: number,
  options: BackoffOptions = {},
): number | undefined {
  if (error.kind === "terminal") return undefined;
  const baseMs = options.baseMs ?? 1_000;
  const maxMs = options.maxMs ?? 60_000;
  const random = options.random ?? Math.random;
  const exponent = Math.min(Math.max(0, Math.floor(attempt) - 1), 20);
  const ceilingMs = Math.min(maxMs, baseMs * 2 ** exponent);
  // Half fixed, half jitter: spreads retries without ever collapsing to zero.
  const delayMs = Math.round(ceilingMs / 2 + (random() * ceilingMs) / 2);
  return Math.max(delayMs, error.retryAfterMs ?? 0);
}
