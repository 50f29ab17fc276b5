// The plan catalogue of QuotaService (BILLING_PLANS) and the time zone of its calendar windows
// (BILLING_QUOTA_TIME_ZONE). Plans, metrics, windows and limits are data: a new plan or metric is a
// configuration change, not a code change.
import { z } from "zod";

export const QUOTA_WINDOWS = ["day", "month"] as const;
export type QuotaWindowName = (typeof QUOTA_WINDOWS)[number];

export interface PlanQuotaConfig {
  /** e.g. "chat_tokens". */
  readonly metric: string;
  /** Units per window; always positive. */
  readonly limitUnits: bigint;
  readonly window: QuotaWindowName;
}

export interface PlanConfig {
  /** e.g. "free", "pro_month". */
  readonly code: string;
  readonly title: string;
  readonly quotas: readonly PlanQuotaConfig[];
  /** Price of one period in minor units (kopecks); 0 = not for sale. */
  readonly priceMinor: bigint;
  readonly currency: string;
  /** Length of one bought period in calendar months; 0 for plans that are not sold. */
  readonly periodMonths: number;
  /** The plan of users without one (exactly one plan is). */
  readonly isDefault: boolean;
}

/** Bounds that keep a typo from configuring something absurd. */
export const PLANS_MAX = 32;
export const PLAN_METRICS_MAX = 16;
export const LIMIT_UNITS_MAX = 1_000_000_000_000n;
const PRICE_MINOR_MAX = 10_000_000_000; // 100 000 000.00 RUB
const PERIOD_MONTHS_MAX = 36;

const NAME = /^[a-z][a-z0-9_]{0,63}$/;

export const DEFAULT_PLANS_JSON = JSON.stringify([
  {
    plan_code: "free",
    title: "Free",
    is_default: true,
    quotas: [
      { metric: "chat_tokens", limit: 50, window: "day" },
      { metric: "tpl_run", limit: 20, window: "month" },
    ],
  },
  {
    plan_code: "pro_month",
    title: "Pro, one month",
    price_minor: 99_000,
    currency: "RUB",
    period_months: 1,
    quotas: [
      { metric: "chat_tokens", limit: 10_000, window: "month" },
      { metric: "tpl_run", limit: 200, window: "month" },
    ],
  },
]);

// The JSON keys are the proto field names (snake_case), so the catalogue reads like ListPlans.
// Strict objects: a misspelt key ("limt") is an error at start-up, not a silently missing limit.
const quotaSchema = z.strictObject({
  metric: z.string().regex(NAME, "must be a lower-case name like chat_tokens"),
  limit: z
    .number({ error: "must be a whole number of units" })
    .int("must be a whole number of units")
    .positive("must be positive")
    .max(Number(LIMIT_UNITS_MAX), `must be at most ${LIMIT_UNITS_MAX}`),
  window: z.enum(QUOTA_WINDOWS, { error: `must be one of ${QUOTA_WINDOWS.join(", ")}` }),
});

const planSchema = z.strictObject({
  plan_code: z.string().regex(NAME, "must be a lower-case name like pro_month"),
  title: z.string().trim().min(1, "is required").max(128, "must be at most 128 characters"),
  quotas: z
    .array(quotaSchema)
    .min(1, "a plan needs at least one quota")
    .max(PLAN_METRICS_MAX, `a plan has at most ${PLAN_METRICS_MAX} quotas`),
  price_minor: z
    .number()
    .int("must be whole kopecks")
    .min(0, "must not be negative")
    .max(PRICE_MINOR_MAX, `must be at most ${PRICE_MINOR_MAX}`)
    .default(0),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, "must be an ISO 4217 code like RUB")
    .default("RUB"),
  period_months: z
    .number()
    .int()
    .min(0, "must not be negative")
    .max(PERIOD_MONTHS_MAX, `must be at most ${PERIOD_MONTHS_MAX}`)
    .default(0),
  is_default: z.boolean().default(false),
});

const catalogueSchema = z
  .array(planSchema)
  .min(1, "configure at least one plan")
  .max(PLANS_MAX, `at most ${PLANS_MAX} plans`)
  .superRefine((plans, ctx) => {
    const defaults = plans.filter((plan) => plan.is_default).map((plan) => plan.plan_code);
    if (defaults.length !== 1) {
      ctx.addIssue({
        code: "custom",
        message: `exactly one plan must have "is_default": true (found ${defaults.length === 0 ? "none" : defaults.join(", ")})`,
      });
    }
    const seen = new Set<string>();
    for (const [index, plan] of plans.entries()) {
      if (seen.has(plan.plan_code)) {
        ctx.addIssue({
          code: "custom",
          path: [index, "plan_code"],
          message: `plan ${plan.plan_code} is listed twice`,
        });
      }
      seen.add(plan.plan_code);
      const metrics = new Set<string>();
      for (const [quotaIndex, quota] of plan.quotas.entries()) {
        if (metrics.has(quota.metric)) {
          ctx.addIssue({
            code: "custom",
            path: [index, "quotas", quotaIndex, "metric"],
            message: `metric ${quota.metric} is listed twice in plan ${plan.plan_code}`,
          });
        }
        metrics.add(quota.metric);
      }
      // The default plan is what users fall back to when a bought plan ends: it cannot itself be sold.
      if (plan.is_default && (plan.price_minor !== 0 || plan.period_months !== 0)) {
        ctx.addIssue({
          code: "custom",
          path: [index],
          message: `the default plan ${plan.plan_code} must have no price_minor and no period_months`,
        });
      }
      if (plan.price_minor > 0 && plan.period_months === 0) {
        ctx.addIssue({
          code: "custom",
          path: [index, "period_months"],
          message: `plan ${plan.plan_code} has a price, so it needs period_months >= 1`,
        });
      }
    }
  });

/** BILLING_PLANS: a JSON array of plans (see DEFAULT_PLANS_JSON and the README). */
export const planCatalogue = z
  .string()
  .default(DEFAULT_PLANS_JSON)
  .transform((value, ctx): unknown => {
    try {
      return JSON.parse(value);
    } catch (error) {
      ctx.addIssue({
        code: "custom",
        message: `is not valid JSON (${error instanceof SyntaxError ? error.message : "parse error"})`,
      });
      return z.NEVER;
    }
  })
  .pipe(catalogueSchema)
  .transform((plans): PlanConfig[] =>
    plans.map((plan) => ({
      code: plan.plan_code,
      title: plan.title,
      quotas: plan.quotas.map((quota) => ({
        metric: quota.metric,
        limitUnits: BigInt(quota.limit),
        window: quota.window,
      })),
      priceMinor: BigInt(plan.price_minor),
      currency: plan.currency,
      periodMonths: plan.period_months,
      isDefault: plan.is_default,
    })),
  );

/**
 * An IANA time zone such as Europe/Moscow. Intl knows the zone database; the pattern refuses the
 * fixed offsets ("+03:00") that Intl also accepts, since a calendar needs a named zone. The value is
 * kept as written: ICU's canonical form of some zones is a legacy name (Europe/Kyiv → Europe/Kiev).
 */
export const ianaTimeZone = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      if (/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2}$/.test(value)) {
        try {
          new Intl.DateTimeFormat("en-US", { timeZone: value });
          return value;
        } catch {
          // Falls through to the issue below.
        }
      }
      ctx.addIssue({ code: "custom", message: "must be an IANA time zone such as Europe/Moscow or UTC" });
      return z.NEVER;
    });
