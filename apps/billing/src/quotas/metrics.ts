// The quotas' own product metrics: units consumed and consumptions refused, by metric and plan.
import { Counter, type Registry } from "@billing/observability";
import type { PlanCatalogue } from "./rules.js";

export class QuotaMetrics {
  readonly #consumedUnits: Counter<"metric" | "plan">;
  readonly #rejected: Counter<"metric" | "plan">;

  constructor(registry: Registry, catalogue: PlanCatalogue) {
    this.#consumedUnits = new Counter({
      name: "billing_quota_consumed_units_total",
      help: "Quota units consumed, by metric and the user's plan (replays not counted).",
      labelNames: ["metric", "plan"] as const,
      registers: [registry],
    });
    this.#rejected = new Counter({
      name: "billing_quota_rejected_total",
      help: "ConsumeQuota calls refused with QUOTA_EXCEEDED, by metric and the user's plan.",
      labelNames: ["metric", "plan"] as const,
      registers: [registry],
    });
    // Every series exists from the start at 0, so rate() and alerts see the first increment.
    for (const plan of catalogue.plans) {
      for (const quota of plan.quotas) {
        this.#consumedUnits.inc({ metric: quota.metric, plan: plan.code }, 0);
        this.#rejected.inc({ metric: quota.metric, plan: plan.code }, 0);
      }
    }
  }

  consumed(metric: string, planCode: string, units: bigint): void {
    this.#consumedUnits.inc({ metric, plan: planCode }, Number(units));
  }

  rejected(metric: string, planCode: string): void {
    this.#rejected.inc({ metric, plan: planCode });
  }
}
