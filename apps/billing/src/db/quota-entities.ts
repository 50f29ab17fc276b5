// MikroORM entities of the quota tables (the schema itself is in migrations/). Counts are bigint.
import { defineEntity, p, type InferEntity } from "@mikro-orm/postgresql";
import { QUOTA_WINDOWS } from "@billing/config";

export const PLAN_SOURCES = ["ADMIN", "PAYMENT"] as const;
export type PlanSource = (typeof PLAN_SOURCES)[number];

/** The plan a user was put on (by SetPlan or a payment); no row = the default plan. */
export const QuotaUserPlan = defineEntity({
  name: "QuotaUserPlan",
  tableName: "quota_user_plans",
  properties: {
    userRef: p.text().primary(),
    planCode: p.text(),
    until: p.datetime().nullable(),
    source: p.enum(PLAN_SOURCES),
    paymentId: p.text().nullable(),
    updatedAt: p.datetime(),
  },
});
export type QuotaUserPlan = InferEntity<typeof QuotaUserPlan>;

/** One row per payment that activated a plan: what makes activatePlan happen once per payment. */
export const QuotaPlanActivation = defineEntity({
  name: "QuotaPlanActivation",
  tableName: "quota_plan_activations",
  properties: {
    paymentId: p.text().primary(),
    userRef: p.text(),
    planCode: p.text(),
    previousUntil: p.datetime().nullable(),
    until: p.datetime().nullable(),
    activatedAt: p.datetime(),
  },
});
export type QuotaPlanActivation = InferEntity<typeof QuotaPlanActivation>;

/** Usage of one metric by one user in one calendar window; a new window is simply a new row. */
export const QuotaCounter = defineEntity({
  name: "QuotaCounter",
  tableName: "quota_counters",
  properties: {
    id: p.bigint().primary().autoincrement(),
    userRef: p.text(),
    metric: p.text(),
    windowKind: p.enum(QUOTA_WINDOWS),
    windowStart: p.datetime(),
    usedUnits: p.bigint().default(0),
    extraUnits: p.bigint().default(0),
    updatedAt: p.datetime(),
  },
});
export type QuotaCounter = InferEntity<typeof QuotaCounter>;

export const quotaEntities = [QuotaUserPlan, QuotaPlanActivation, QuotaCounter];
