// What every part of payments is handed: its store, the ports to the other contexts, the clock,
// the log, the configuration, YooKassa (absent when no shop is configured) and Telegram's
// refundStarPayment (absent without a bot token).
import type { PaymentsConfig } from "@billing/config";
import type { Logger } from "@billing/observability";
import type { YooKassaClient } from "@billing/yookassa";
import type { Clock } from "../domain/clock.js";
import type { PlanPurchases } from "./plans.js";
import type { CreditsPort } from "./ports.js";
import { paymentsDisabled } from "./provider.js";
import type { StarsRefunder } from "./stars/telegram-refunds.js";
import type { PaymentsStore } from "./store/store.js";

export interface PaymentsContext {
  readonly store: PaymentsStore;
  readonly ledger: CreditsPort;
  readonly plans: PlanPurchases;
  readonly clock: Clock;
  readonly log: Logger;
  readonly config: PaymentsConfig;
  /** Undefined when no shop is configured: only ListTopUpOptions and reads work. */
  readonly yookassa: YooKassaClient | undefined;
  /** Undefined when billing has no bot token: Stars payments work, their refunds are refused. */
  readonly stars: StarsRefunder | undefined;
}

/** YooKassa, or PROVIDER_REJECTED (not_configured) when payments are disabled. */
export function providerOf(context: PaymentsContext): YooKassaClient {
  if (context.yookassa === undefined) throw paymentsDisabled();
  return context.yookassa;
}

/** When an unsettled row is re-read next (a lost notification never loses money). */
export function nextSyncAt(context: PaymentsContext, now: Date): Date {
  return new Date(now.getTime() + context.config.sweepAgeMs);
}
