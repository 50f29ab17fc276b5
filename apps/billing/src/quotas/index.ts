// The quotas context's public face: what rpc/ and server.ts may use.
export { planPurchasesOf } from "./plan-purchases.js";
export { Quotas } from "./quotas.js";
export type { MetricQuota, PlanActivation, QuotaConfig } from "./types.js";
