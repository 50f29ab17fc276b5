// QuotaService handlers: validate, call the quota domain, map the answer to proto. Nothing else.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { QuotaWindowName } from "@billing/config";
import { type MetricQuotaSchema, QuotaWindow, type QuotaService } from "@billing/proto/billing/v1/quotas_pb";
import type { MetricQuota, Quotas } from "../quotas/index.js";
import { validate } from "./validate.js";

export interface QuotaDeps {
  readonly quotas: Quotas;
}

/** Bounds of one request: units per call and lines of an AddQuota. */
export const UNITS_MAX = 1_000_000_000_000n;
export const ADD_LINES_MAX = 16;

/** `deps` is read on each call: it becomes available once the database is ready. */
export function quotaService(deps: QuotaDeps): ServiceImpl<typeof QuotaService> {
  return {
    listPlans() {
      const { quotas } = deps;
      return {
        plans: quotas.catalogue.plans.map((plan) => ({
          planCode: plan.code,
          title: plan.title,
          quotas: plan.quotas.map((quota) => ({
            metric: quota.metric,
            limit: quota.limitUnits,
            window: WINDOW[quota.window],
          })),
          priceMinor: plan.priceMinor,
          currency: plan.currency,
          periodMonths: plan.periodMonths,
          isDefault: plan.isDefault,
        })),
        timeZone: quotas.timeZone,
      };
    },

    async setPlan(request) {
      const command = validate((v) => {
        let until: Date | undefined;
        if (request.until !== undefined) {
          const { seconds, nanos } = request.until;
          // Within the years Timestamp allows (0001-9999), so the Date is valid.
          v.check(
            seconds >= -62_135_596_800n && seconds <= 253_402_300_799n && nanos >= 0 && nanos < 1e9,
            "until",
            "must be a valid timestamp",
          );
          until = timestampDate(request.until);
        }
        return {
          userRef: v.userRef("user_ref", request.userRef),
          planCode: v.name("plan_code", request.planCode),
          until,
        };
      });
      const assignment = await deps.quotas.setPlan(command);
      return {
        userRef: assignment.userRef,
        planCode: assignment.planCode,
        ...(assignment.until === undefined ? {} : { until: timestampFromDate(assignment.until) }),
      };
    },

    async getQuota(request) {
      const userRef = validate((v) => v.userRef("user_ref", request.userRef));
      const report = await deps.quotas.getQuota(userRef);
      return {
        userRef: report.userRef,
        planCode: report.planCode,
        ...(report.planUntil === undefined ? {} : { planUntil: timestampFromDate(report.planUntil) }),
        metrics: report.metrics.map(toMetricQuota),
      };
    },

    async consumeQuota(request) {
      const command = validate((v) => {
        const units = v.positive("units", request.units);
        v.check(units <= UNITS_MAX, "units", `must be at most ${UNITS_MAX}`);
        return {
          userRef: v.userRef("user_ref", request.userRef),
          metric: v.name("metric", request.metric),
          units,
          ref: v.idempotencyKey("ref", request.ref),
        };
      });
      const result = await deps.quotas.consume(command);
      return { quota: toMetricQuota(result.quota), planCode: result.planCode };
    },

    async addQuota(request) {
      const command = validate((v) => {
        v.check(
          request.units.length >= 1 && request.units.length <= ADD_LINES_MAX,
          "units",
          `must list 1-${ADD_LINES_MAX} metrics`,
        );
        const seen = new Set<string>();
        const units = request.units.slice(0, ADD_LINES_MAX).map((line, index) => {
          const metric = v.name(`units[${index}].metric`, line.metric);
          v.check(!seen.has(metric), `units[${index}].metric`, "is listed twice");
          seen.add(metric);
          const units = v.positive(`units[${index}].units`, line.units);
          v.check(units <= UNITS_MAX, `units[${index}].units`, `must be at most ${UNITS_MAX}`);
          return { metric, units };
        });
        return {
          userRef: v.userRef("user_ref", request.userRef),
          orderId: v.idempotencyKey("order_id", request.orderId),
          units,
        };
      });
      const result = await deps.quotas.add(command);
      return { metrics: result.metrics.map(toMetricQuota) };
    },
  };
}

const WINDOW: Readonly<Record<QuotaWindowName, QuotaWindow>> = {
  day: QuotaWindow.DAY,
  month: QuotaWindow.MONTH,
};

function toMetricQuota(quota: MetricQuota): MessageInitShape<typeof MetricQuotaSchema> {
  return {
    metric: quota.metric,
    window: WINDOW[quota.window],
    limit: quota.limitUnits,
    extra: quota.extraUnits,
    used: quota.usedUnits,
    remaining: quota.remainingUnits,
    windowStart: timestampFromDate(quota.windowStart),
    resetsAt: timestampFromDate(quota.resetsAt),
  };
}
