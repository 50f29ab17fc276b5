export { ConfigError, exitOnConfigError, parseEnv, type Env } from "./parse.js";
export * as fields from "./fields.js";
export { billingEnvSchema, SCOPES, type BillingConfig, type Scope, type ScopedToken } from "./billing.js";
export type { EdgeLimits } from "./billing-edges.js";
export { workerEnvSchema, WORKER_PROVIDERS, type WorkerConfig, type WorkerProviderConfig } from "./worker.js";
export {
  DEFAULT_PLANS_JSON,
  LIMIT_UNITS_MAX,
  PLAN_METRICS_MAX,
  PLANS_MAX,
  QUOTA_WINDOWS,
  type PlanConfig,
  type PlanQuotaConfig,
  type QuotaWindowName,
} from "./quotas.js";
export {
  BOT_LOCALES,
  BOT_MODES,
  botEnvSchema,
  TELEGRAM_MAX_DOWNLOAD_BYTES,
  type BotConfig,
  type BotLocale,
  type BotMode,
} from "./bot.js";
export {
  DEFAULT_YOOKASSA_API_URL,
  type PaymentsConfig,
  type ReceiptConfig,
  type YooKassaShopConfig,
} from "./payments.js";
export {
  STARS_INVOICE_MAX,
  type StarsConfig,
  type StarsRateConfig,
  type TelegramRefundsConfig,
} from "./stars.js";
export { webhooksEnvSchema, YOOKASSA_SENDERS, type WebhooksConfig } from "./webhooks.js";
export { NODE_FLAGS } from "./node-flags.js";
