// How the providers' failures reach billing's callers: a result that may still happen (timeouts,
// 5xx, 202, rate limits, unreadable answers) is PROVIDER_UNAVAILABLE — retry with the same key; a
// refusal that left nothing behind (4xx) is PROVIDER_REJECTED with the provider's code. YooKassa's
// errors and Telegram's (Stars refunds) are classified here, once, for the one lifecycle.
import type { YooKassaShopConfig } from "@billing/config";
import type { Logger } from "@billing/observability";
import {
  createYooKassaClient,
  isYooKassaError,
  type YooKassaClient,
  type YooKassaError,
} from "@billing/yookassa";
import { DomainError } from "../domain/errors.js";
import { isStarsCallError, type StarsCallError } from "./stars/telegram-refunds.js";

/** The shop's client, or undefined (payments disabled) when no shop is configured. */
export function yooKassaClientOf(
  shop: YooKassaShopConfig | undefined,
  log: Logger,
): YooKassaClient | undefined {
  if (shop === undefined) {
    log.warn("no YooKassa shop configured (YOOKASSA_SHOP_ID, YOOKASSA_SECRET_KEY): top-ups are disabled");
    return undefined;
  }
  return createYooKassaClient({
    shopId: shop.shopId,
    secretKey: shop.secretKey,
    apiUrl: shop.apiUrl,
    timeoutMs: shop.timeoutMs,
    maxAttempts: shop.maxAttempts,
    retryDelayMs: shop.retryDelayMs,
    unsafeAllowShortTimeout: shop.unsafeShortTimeout,
    onRetry: (retry) => log.info({ ...retry }, "retrying a YooKassa call"),
  });
}

/** True when the provider certainly did nothing and never will for this request. */
export function isDefinitiveRefusal(error: unknown): boolean {
  if (isStarsCallError(error)) return error.kind === "rejected";
  if (!isYooKassaError(error)) return false;
  return isDefinitiveYooKassaRefusal(error);
}

/** The provider's code of a refusal, e.g. "invalid_request" or "CHARGE_NOT_FOUND". */
export function refusalCodeOf(error: unknown): string {
  if (isStarsCallError(error)) return error.code;
  if (isYooKassaError(error)) return error.code ?? error.kind;
  return "unknown";
}

function isDefinitiveYooKassaRefusal(error: YooKassaError): boolean {
  return (
    !error.outcomeUnknown &&
    !error.retryable &&
    error.kind !== "malformed_response" &&
    // The same key with another body: our stored request and YooKassa's disagree about what the key
    // means. Something may exist under it, so nothing is given up; operators must look.
    error.parameter !== "Idempotence-Key"
  );
}

/** The DomainError for a failed provider call; anything but a provider's error is a bug and rethrown. */
export function providerFailure(error: unknown, what: string): DomainError {
  if (isStarsCallError(error)) return starsFailure(error, what);
  if (!isYooKassaError(error)) throw error;
  const metadata: Record<string, string> = { provider: "yookassa", provider_code: error.code ?? error.kind };
  if (error.parameter !== undefined) metadata["parameter"] = error.parameter;
  if (error.id !== undefined) metadata["provider_error_id"] = error.id;
  if (isDefinitiveYooKassaRefusal(error) || error.parameter === "Idempotence-Key") {
    return new DomainError(
      "PROVIDER_REJECTED",
      `YooKassa refused ${what}: ${error.code ?? error.kind}${error.description === undefined ? "" : ` (${error.description})`}`,
      { metadata },
    );
  }
  return new DomainError(
    "PROVIDER_UNAVAILABLE",
    `YooKassa did not confirm ${what} (${error.kind}); retry with the same idempotency key`,
    { metadata },
  );
}

function starsFailure(error: StarsCallError, what: string): DomainError {
  const metadata = { provider: "telegram_stars", provider_code: error.code };
  return error.kind === "rejected"
    ? new DomainError("PROVIDER_REJECTED", `Telegram refused ${what}: ${error.message}`, { metadata })
    : new DomainError(
        "PROVIDER_UNAVAILABLE",
        `Telegram did not confirm ${what} (${error.code}); retry with the same idempotency key`,
        { metadata },
      );
}

export function paymentsDisabled(): DomainError {
  return new DomainError(
    "PROVIDER_REJECTED",
    "payments are disabled: this billing has no YooKassa shop (YOOKASSA_SHOP_ID, YOOKASSA_SECRET_KEY)",
    { metadata: { provider: "yookassa", provider_code: "not_configured" } },
  );
}
