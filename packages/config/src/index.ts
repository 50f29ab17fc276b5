export { ConfigError, exitOnConfigError, parseEnv, type Env } from "./parse.js";
export * as fields from "./fields.js";
export { billingEnvSchema, SCOPES, type BillingConfig, type Scope, type ScopedToken } from "./billing.js";
export {
  DEFAULT_YOOKASSA_API_URL,
  type PaymentsConfig,
  type ReceiptConfig,
  type YooKassaShopConfig,
} from "./payments.js";
export { webhooksEnvSchema, YOOKASSA_SENDERS, type WebhooksConfig } from "./webhooks.js";
