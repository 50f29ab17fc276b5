// The quotas context's public face: what rpc/ and server.ts may use.
export { planPurchasesOf } from "./plan-purchases.js";
export { type MetricQuota, type PlanActivation, Quotas, type QuotaConfig } from "./quotas.js";
