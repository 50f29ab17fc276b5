// Quota rules, pure: which plan a user is on, what a metric allows in a window, whether a consumption
// fits, where a bought period ends, and the order counters are locked in. No I/O; the time is always passed in.
import type { PlanConfig, PlanQuotaConfig, QuotaWindowName } from "@billing/config";
import { DomainError, invalidFields } from "../domain/errors.js";
import { addCalendarMonths, type CalendarWindow } from "./calendar.js";
import type { MetricQuota } from "./types.js";

/** The configured plans, indexed. Configuration guarantees exactly one default plan. */
export class PlanCatalogue {
  readonly plans: readonly PlanConfig[];
  readonly defaultPlan: PlanConfig;
  readonly #byCode: ReadonlyMap<string, PlanConfig>;

  constructor(plans: readonly PlanConfig[]) {
    const defaults = plans.filter((plan) => plan.isDefault);
    const [defaultPlan] = defaults;
    if (defaultPlan === undefined || defaults.length !== 1) {
      throw new Error("quota invariant: the plan catalogue needs exactly one default plan");
    }
    this.plans = plans;
    this.defaultPlan = defaultPlan;
    this.#byCode = new Map(plans.map((plan) => [plan.code, plan]));
    if (this.#byCode.size !== plans.length) throw new Error("quota invariant: plan codes must be unique");
  }

  find(code: string): PlanConfig | undefined {
    return this.#byCode.get(code);
  }

  /** The plan named by a request field, or INVALID_ARGUMENT / UNKNOWN_PLAN on that field. */
  require(code: string, field: string): PlanConfig {
    const plan = this.#byCode.get(code);
    if (plan === undefined) {
      const known = this.plans.map((p) => p.code).join(", ");
      throw new DomainError("UNKNOWN_PLAN", `unknown plan '${code}'; known: ${known}`, {
        fieldViolations: [{ field, description: `must be one of ${known}` }],
        metadata: { plan_code: code },
      });
    }
    return plan;
  }
}

/** A user's stored plan assignment (absent: never assigned). */
export interface StoredPlan {
  readonly planCode: string;
  /** null = no end. */
  readonly until: Date | null;
}

export interface EffectivePlan {
  readonly plan: PlanConfig;
  /** When the plan ends; undefined for the default plan and for a plan without end. */
  readonly until: Date | undefined;
}

/**
 * The plan in force at `now`: the stored one while it lasts (until is exclusive), else the default.
 * A stored code that is no longer in the catalogue also falls back to the default, so removing a plan
 * from configuration never locks its users out.
 */
export function effectivePlan(catalogue: PlanCatalogue, stored: StoredPlan | null, now: Date): EffectivePlan {
  const plan = stored === null ? undefined : catalogue.find(stored.planCode);
  if (stored === null || plan === undefined || (stored.until !== null && stored.until <= now)) {
    return { plan: catalogue.defaultPlan, until: undefined };
  }
  return { plan, until: plan.isDefault ? undefined : (stored.until ?? undefined) };
}

/** The plan's quota of a metric, or INVALID_ARGUMENT / UNKNOWN_METRIC on the request field. */
export function requireQuota(plan: PlanConfig, metric: string, field: string): PlanQuotaConfig {
  const quota = plan.quotas.find((q) => q.metric === metric);
  if (quota === undefined) {
    const known = plan.quotas.map((q) => q.metric).join(", ");
    throw new DomainError(
      "UNKNOWN_METRIC",
      `metric '${metric}' is not in plan ${plan.code}; its metrics: ${known}`,
      {
        fieldViolations: [{ field, description: `must be one of ${known} (plan ${plan.code})` }],
        metadata: { metric, plan_code: plan.code },
      },
    );
  }
  return quota;
}

/** Units left in a window; never negative (a plan downgraded mid-window may leave used > limit). */
export function remainingUnits(limitUnits: bigint, extraUnits: bigint, usedUnits: bigint): bigint {
  const left = limitUnits + extraUnits - usedUnits;
  return left > 0n ? left : 0n;
}

/** Whether `units` more fit the window: used + units <= limit + extra. */
export function fits(limitUnits: bigint, extraUnits: bigint, usedUnits: bigint, units: bigint): boolean {
  if (units <= 0n) throw new Error("quota invariant: units must be positive");
  return usedUnits + units <= limitUnits + extraUnits;
}

/**
 * Where a bought period of `plan` ends: one period after the current end when the same plan is still
 * running (a renewal extends it), else one period after `now`. null = the same plan already runs
 * without end, which a purchase does not shorten.
 */
export function periodEnd(
  plan: PlanConfig,
  current: StoredPlan | null,
  now: Date,
  timeZone: string,
): Date | null {
  if (plan.periodMonths <= 0) throw new Error(`quota invariant: plan ${plan.code} is not sold by period`);
  const sameRunning =
    current !== null && current.planCode === plan.code && (current.until === null || current.until > now);
  if (sameRunning && current.until === null) return null;
  const from = sameRunning && current.until !== null ? current.until : now;
  return addCalendarMonths(from, plan.periodMonths, timeZone);
}

/** A usage counter's identity: one metric in one calendar window. */
export interface CounterKey {
  readonly metric: string;
  readonly kind: QuotaWindowName;
  readonly start: Date;
}

/** The one order counters are locked in: metric, then window kind, then window start. */
export function compareCounterKeys(a: CounterKey, b: CounterKey): number {
  if (a.metric !== b.metric) return a.metric < b.metric ? -1 : 1;
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  return a.start.getTime() - b.start.getTime();
}

/** SetPlan refuses an end further away than this (a typo such as year 20260). */
const PLAN_UNTIL_MAX_MS = 100 * 366 * 86_400_000;

/** An operator's plan end must lie in the future, and within a century. */
export function checkPlanUntil(until: Date | undefined, now: Date): void {
  if (until === undefined) return;
  if (until <= now) {
    throw invalidFields([
      { field: "until", description: `must be in the future (now is ${now.toISOString()})` },
    ]);
  }
  if (until.getTime() - now.getTime() > PLAN_UNTIL_MAX_MS) {
    throw invalidFields([{ field: "until", description: "must be within 100 years" }]);
  }
}

/** A metric of a plan in a window, from its counter (absent: nothing used yet). */
export function metricQuota(
  quota: PlanQuotaConfig,
  bounds: CalendarWindow,
  counter: { usedUnits: bigint; extraUnits: bigint } | undefined,
): MetricQuota {
  const usedUnits = counter?.usedUnits ?? 0n;
  const extraUnits = counter?.extraUnits ?? 0n;
  return {
    metric: quota.metric,
    window: quota.window,
    limitUnits: quota.limitUnits,
    extraUnits,
    usedUnits,
    remainingUnits: remainingUnits(quota.limitUnits, extraUnits, usedUnits),
    windowStart: bounds.start,
    resetsAt: bounds.end,
  };
}

export function quotaExceeded(
  command: { userRef: string; metric: string; units: bigint },
  plan: PlanConfig,
  quota: MetricQuota,
): DomainError {
  const description =
    `${quota.remainingUnits} of ${quota.limitUnits + quota.extraUnits} ${command.metric} units left in this ` +
    `${quota.window} (plan ${plan.code}), ${command.units} asked; the window resets at ${quota.resetsAt.toISOString()}`;
  return new DomainError("QUOTA_EXCEEDED", `quota exceeded: ${description}`, {
    quotaViolations: [{ subject: `metric:${command.metric}`, description }],
    metadata: {
      metric: command.metric,
      plan_code: plan.code,
      window: quota.window,
      remaining: quota.remainingUnits.toString(),
      requested: command.units.toString(),
      resets_at: quota.resetsAt.toISOString(),
    },
  });
}

/**
 * The plan a payment bought, with the period frozen into it at creation: it settles even if the plan
 * has left the catalogue or lost its period since. Without a frozen period, the catalogue's plan.
 * Refuses (UNKNOWN_PLAN) a plan that is not sold by period.
 */
export function planAsBought(
  catalogue: PlanCatalogue,
  code: string,
  periodMonths: number | undefined,
): PlanConfig {
  const plan =
    periodMonths === undefined
      ? catalogue.require(code, "plan_code")
      : {
          ...(catalogue.find(code) ?? {
            title: code,
            quotas: [],
            priceMinor: 0n,
            currency: "RUB",
            isDefault: false,
          }),
          code,
          periodMonths,
        };
  if (plan.periodMonths <= 0) {
    throw new DomainError("UNKNOWN_PLAN", `plan ${plan.code} is not for sale`, {
      fieldViolations: [{ field: "plan_code", description: "must be a plan with a period" }],
      metadata: { plan_code: plan.code },
    });
  }
  return plan;
}
