// The bot's Prometheus metrics (served on /metrics of BOT_OPS_PORT).
import { Counter, Gauge, Histogram, type Registry } from "@billing/observability";

export interface BotMetrics {
  readonly updates: Counter<"type">;
  readonly messagesSent: Counter<"method" | "priority">;
  readonly sendWait: Histogram<"priority">;
  readonly sendCall: Histogram<"method">;
  readonly outOfBand: Counter<"method" | "outcome">;
  readonly rateLimited: Counter;
  readonly sendRetries: Counter<"reason">;
  readonly messagesDropped: Counter<"reason">;
  readonly handlerErrors: Counter;
  readonly jobsRequested: Counter<"operation">;
  readonly jobsCompleted: Counter<"operation">;
  readonly jobsFailed: Counter<"operation" | "refunded">;
  readonly insufficientFunds: Counter<"operation">;
  readonly topUpsCreated: Counter;
  readonly billingEvents: Counter<"kind">;
  /** Telegram Stars: pre_checkout_query answers and successful_payment hand-overs. */
  readonly preCheckouts: Counter<"outcome">;
  readonly starsPayments: Counter<"outcome">;
}

export function createBotMetrics(registry: Registry, sources: { sendQueueDepth: () => number }): BotMetrics {
  new Gauge({
    name: "bot_send_queue_depth",
    help: "Messages waiting in the send queue or in flight",
    registers: [registry],
    collect() {
      this.set(sources.sendQueueDepth());
    },
  });
  return {
    updates: new Counter({
      name: "bot_updates_total",
      help: "Telegram updates received, by type",
      labelNames: ["type"],
      registers: [registry],
    }),
    messagesSent: new Counter({
      name: "bot_messages_sent_total",
      help: "Messages delivered to Telegram, by method and queue priority",
      labelNames: ["method", "priority"],
      registers: [registry],
    }),
    sendWait: new Histogram({
      name: "bot_send_wait_seconds",
      help: "From a message queued to Telegram's answer, by priority (high: results and payments)",
      labelNames: ["priority"],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    sendCall: new Histogram({
      name: "bot_send_call_seconds",
      help: "One delivered send, request to Telegram's answer: each send holds its budget slot this long plus the window",
      labelNames: ["method"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    outOfBand: new Counter({
      name: "bot_out_of_band_calls_total",
      help: "answerCallbackQuery / sendChatAction calls outside the send queue, by outcome (ok, failed, skipped)",
      labelNames: ["method", "outcome"],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: "bot_telegram_429_total",
      help: "429 Too Many Requests answers from Telegram (each retried after retry_after)",
      registers: [registry],
    }),
    sendRetries: new Counter({
      name: "bot_send_retries_total",
      help: "Sends retried after a 5xx or network failure",
      labelNames: ["reason"],
      registers: [registry],
    }),
    messagesDropped: new Counter({
      name: "bot_messages_dropped_total",
      help: "Messages not delivered: blocked, rejected, gave_up, queue_full, shutdown",
      labelNames: ["reason"],
      registers: [registry],
    }),
    handlerErrors: new Counter({
      name: "bot_handler_errors_total",
      help: "Updates whose handler failed (the user got an apology)",
      registers: [registry],
    }),
    jobsRequested: new Counter({
      name: "bot_jobs_requested_total",
      help: "Generation jobs reserved and published",
      labelNames: ["operation"],
      registers: [registry],
    }),
    jobsCompleted: new Counter({
      name: "bot_jobs_completed_total",
      help: "Generation results delivered to users",
      labelNames: ["operation"],
      registers: [registry],
    }),
    jobsFailed: new Counter({
      name: "bot_jobs_failed_total",
      help: "Generation failures reported to users",
      labelNames: ["operation", "refunded"],
      registers: [registry],
    }),
    insufficientFunds: new Counter({
      name: "bot_insufficient_funds_total",
      help: "Paid operations refused for lack of credits",
      labelNames: ["operation"],
      registers: [registry],
    }),
    topUpsCreated: new Counter({
      name: "bot_topups_created_total",
      help: "Payment links handed out",
      registers: [registry],
    }),
    billingEvents: new Counter({
      name: "bot_billing_events_total",
      help: "Billing events handled, by kind",
      labelNames: ["kind"],
      registers: [registry],
    }),
    preCheckouts: new Counter({
      name: "bot_pre_checkout_answers_total",
      help: "pre_checkout_query answers: ok, declined (billing refused), unavailable (billing down), failed (not answered)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    starsPayments: new Counter({
      name: "bot_stars_payments_total",
      help: "successful_payment hand-overs: accepted by billing, retried (billing down), rejected (dead letter: alert)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
  };
}
