// The pure quota rules: which plan applies, what fits, and where a bought period ends.
import { billingEnvSchema, parseEnv, type PlanConfig } from "@billing/config";
import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/domain/errors.js";
import {
  effectivePlan,
  fits,
  periodEnd,
  PlanCatalogue,
  remainingUnits,
  requireQuota,
} from "../../src/quotas/rules.js";

const { plans } = parseEnv(billingEnvSchema, {
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/billing",
  BILLING_TOKENS: "admin:admin-token-0123456789",
});
const catalogue = new PlanCatalogue(plans);
const pro = catalogue.find("pro_month") as PlanConfig;
const now = new Date("2026-11-22T10:00:00Z");
const MOSCOW = "Europe/Moscow";

describe("plan catalogue", () => {
  it("indexes the plans and knows the default", () => {
    expect(catalogue.defaultPlan.code).toBe("free");
    expect(catalogue.find("pro_month")?.periodMonths).toBe(1);
    expect(catalogue.find("gold")).toBeUndefined();
  });

  it("refuses an unknown plan as UNKNOWN_PLAN on the request field", () => {
    let error: unknown;
    try {
      catalogue.require("gold", "plan_code");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).reason).toBe("UNKNOWN_PLAN");
    expect((error as DomainError).detail.fieldViolations).toEqual([
      { field: "plan_code", description: "must be one of free, pro_month" },
    ]);
  });

  it("refuses a catalogue without exactly one default plan", () => {
    expect(() => new PlanCatalogue(plans.map((p) => ({ ...p, isDefault: false })))).toThrow(
      /exactly one default/,
    );
    expect(() => new PlanCatalogue(plans.map((p) => ({ ...p, isDefault: true })))).toThrow(
      /exactly one default/,
    );
  });
});

describe("effective plan", () => {
  it("is the default plan without an assignment, after it ends, or when its plan was removed", () => {
    expect(effectivePlan(catalogue, null, now)).toEqual({ plan: catalogue.defaultPlan, until: undefined });
    expect(effectivePlan(catalogue, { planCode: "pro_month", until: now }, now).plan.code).toBe("free");
    expect(effectivePlan(catalogue, { planCode: "retired", until: null }, now).plan.code).toBe("free");
  });

  it("is the assigned plan while it lasts", () => {
    const until = new Date(now.getTime() + 1);
    expect(effectivePlan(catalogue, { planCode: "pro_month", until }, now)).toEqual({ plan: pro, until });
    expect(effectivePlan(catalogue, { planCode: "pro_month", until: null }, now)).toEqual({
      plan: pro,
      until: undefined,
    });
  });

  it("refuses a metric the plan does not meter", () => {
    expect(requireQuota(pro, "tpl_run", "metric").limitUnits).toBe(200n);
    expect(() => requireQuota(pro, "images", "metric")).toThrow(/not in plan pro_month/);
  });
});

describe("fitting units into a window", () => {
  it("allows exactly up to limit + extra", () => {
    expect(fits(50n, 0n, 49n, 1n)).toBe(true);
    expect(fits(50n, 0n, 50n, 1n)).toBe(false);
    expect(fits(50n, 10n, 50n, 10n)).toBe(true);
    expect(fits(50n, 10n, 50n, 11n)).toBe(false);
    expect(() => fits(50n, 0n, 0n, 0n)).toThrow(/positive/);
  });

  it("never reports negative remaining units (a downgrade may leave used above the limit)", () => {
    expect(remainingUnits(50n, 5n, 20n)).toBe(35n);
    expect(remainingUnits(50n, 0n, 500n)).toBe(0n);
  });
});

describe("end of a bought period", () => {
  it("runs one calendar month from now for a new or different plan", () => {
    expect(periodEnd(pro, null, now, MOSCOW)?.toISOString()).toBe("2026-12-22T10:00:00.000Z");
    expect(periodEnd(pro, { planCode: "free", until: null }, now, MOSCOW)?.toISOString()).toBe(
      "2026-12-22T10:00:00.000Z",
    );
  });

  it("extends from the current end when the same plan still runs, and from now when it ended", () => {
    const running = { planCode: "pro_month", until: new Date("2026-12-05T09:00:00Z") };
    expect(periodEnd(pro, running, now, MOSCOW)?.toISOString()).toBe("2027-01-05T09:00:00.000Z");
    const ended = { planCode: "pro_month", until: new Date("2026-11-01T09:00:00Z") };
    expect(periodEnd(pro, ended, now, MOSCOW)?.toISOString()).toBe("2026-12-22T10:00:00.000Z");
  });

  it("clamps to the month's last day and keeps an endless plan endless", () => {
    const jan31 = new Date("2028-01-31T07:00:00Z"); // 10:00 in Moscow
    expect(periodEnd(pro, null, jan31, MOSCOW)?.toISOString()).toBe("2028-02-29T07:00:00.000Z");
    expect(periodEnd(pro, { planCode: "pro_month", until: null }, now, MOSCOW)).toBeNull();
    expect(() => periodEnd(catalogue.defaultPlan, null, now, MOSCOW)).toThrow(/not sold/);
  });
});
