// One billing server's observer of money effects: its domain counters and its audit log.
import type { PlanConfig } from "@billing/config";
import type { Logger, Registry } from "@billing/observability";
import { createAuditLog } from "./audit.js";
import { createMoneyMetrics } from "./money-metrics.js";
import type { MoneyObserver } from "./record.js";

export function createMoneyObserver(
  registry: Registry,
  log: Logger,
  config: { prices: ReadonlyMap<string, bigint>; plans: readonly PlanConfig[] },
): MoneyObserver {
  const quotas = config.plans.flatMap((plan) =>
    plan.quotas.map((q) => ({ metric: q.metric, plan: plan.code })),
  );
  return {
    metrics: createMoneyMetrics(registry, { operations: [...config.prices.keys()], quotas }),
    audit: createAuditLog(log),
  };
}
