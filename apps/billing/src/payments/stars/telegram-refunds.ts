// Billing's one call to the Telegram Bot API: refundStarPayment. Bounded: a timeout per attempt, a
// fixed number of attempts, and a 429 waited out only while Telegram's retry_after stays under the
// configured ceiling (else the refund stays CREATING and is resumed later). The token is in the URL
// only: no error or log line carries it.
import type { TelegramRefundsConfig } from "@billing/config";
import type { Logger } from "@billing/observability";
import { setTimeout as sleep } from "node:timers/promises";

/** Pause between attempts after a 5xx or a broken connection. */
const TRANSIENT_RETRY_MS = 500;

export interface StarsRefunder {
  /** Resolves once Telegram refunded the charge (now, or by an earlier call). */
  refundStarPayment(userId: number, telegramPaymentChargeId: string): Promise<void>;
}

/**
 * A failed call: `rejected` when Telegram refused it (4xx: nothing happened and nothing will),
 * `unavailable` when the outcome is unknown or Telegram asked to wait (retry with the same refund).
 */
export class StarsCallError extends Error {
  constructor(
    readonly kind: "rejected" | "unavailable",
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "StarsCallError";
  }
}

export function isStarsCallError(error: unknown): error is StarsCallError {
  return error instanceof StarsCallError;
}

/** The refunder of this billing's bot, or undefined when no bot token is configured. */
export function starsRefunderOf(
  config: TelegramRefundsConfig | undefined,
  log: Logger,
): StarsRefunder | undefined {
  if (config === undefined) return undefined;
  // Concatenated, not resolved: "bot<id>:<secret>" would parse as a URL scheme of its own.
  const url = new URL(`${withSlash(config.apiRoot)}bot${config.token}/refundStarPayment`);
  return {
    async refundStarPayment(userId, chargeId) {
      for (let attempt = 1; ; attempt++) {
        const outcome = await callOnce(url, config.timeoutMs, {
          user_id: userId,
          telegram_payment_charge_id: chargeId,
        });
        if (outcome.kind === "done") return;
        const last = attempt >= config.maxAttempts;
        if (outcome.kind === "rejected") throw new StarsCallError("rejected", outcome.code, outcome.message);
        const waitMs = outcome.kind === "rate_limited" ? outcome.retryAfterMs : TRANSIENT_RETRY_MS;
        if (last || waitMs > config.retryAfterMaxMs) {
          throw new StarsCallError(
            "unavailable",
            outcome.code,
            `refundStarPayment did not complete: ${outcome.message}`,
          );
        }
        log.info({ attempt, wait_ms: waitMs, code: outcome.code }, "retrying refundStarPayment");
        await sleep(waitMs);
      }
    },
  };
}

type CallOutcome =
  | { kind: "done" }
  | { kind: "rejected"; code: string; message: string }
  | { kind: "rate_limited"; retryAfterMs: number; code: string; message: string }
  | { kind: "transient"; code: string; message: string };

async function callOnce(url: URL, timeoutMs: number, body: object): Promise<CallOutcome> {
  let response: Response;
  let envelope: { ok?: unknown; description?: unknown; parameters?: { retry_after?: unknown } };
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    envelope = (await response.json()) as typeof envelope;
  } catch (error) {
    // The request may or may not have reached Telegram: a repeat is safe (see CHARGE_ALREADY_REFUNDED).
    const name = error instanceof Error ? error.name : "error";
    return { kind: "transient", code: "network", message: `no answer (${name})` };
  }
  if (envelope.ok === true) return { kind: "done" };
  const description = typeof envelope.description === "string" ? envelope.description.slice(0, 200) : "";
  // Our earlier attempt went through and its answer was lost: the charge is refunded, as we asked.
  if (description.includes("CHARGE_ALREADY_REFUNDED")) return { kind: "done" };
  const code = `${response.status}`;
  if (response.status === 429) {
    const seconds = Number(envelope.parameters?.retry_after ?? 1);
    const retryAfterMs = Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds * 1000) : 1000;
    return { kind: "rate_limited", retryAfterMs, code, message: description };
  }
  if (response.status >= 500) return { kind: "transient", code, message: description };
  return { kind: "rejected", code: errorCodeOf(description) ?? code, message: description };
}

/** "Bad Request: CHARGE_NOT_FOUND" → "CHARGE_NOT_FOUND". */
function errorCodeOf(description: string): string | undefined {
  return /\b([A-Z][A-Z0-9_]{2,63})\b/.exec(description)?.[1];
}

function withSlash(root: string): string {
  return root.endsWith("/") ? root : `${root}/`;
}
