export { ConfigError, exitOnConfigError, parseEnv, type Env } from "./parse.js";
export * as fields from "./fields.js";
export { billingEnvSchema, SCOPES, type BillingConfig, type Scope, type ScopedToken } from "./billing.js";
export { workerEnvSchema, WORKER_PROVIDERS, type WorkerConfig, type WorkerProviderConfig } from "./worker.js";
