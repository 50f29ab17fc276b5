// BILLING_PLANS and BILLING_QUOTA_TIME_ZONE: defaults from the product and clear start-up errors.
import { describe, expect, it } from "vitest";
import { billingEnvSchema, ConfigError, parseEnv } from "../src/index.js";

const valid = {
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/billing",
  BILLING_TOKENS: "admin:admin-token-0123456789,service:service-token-0123456789",
};

describe("plan catalogue and quota time zone", () => {
  const plans = (value: unknown) => ({ ...valid, BILLING_PLANS: JSON.stringify(value) });
  const problems = (env: Record<string, string>): string => {
    try {
      parseEnv(billingEnvSchema, env);
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    throw new Error("expected a configuration error");
  };
  const quota = { metric: "chat_tokens", limit: 5, window: "day" };

  it("defaults to the product's free and pro_month plans in Europe/Moscow", () => {
    const config = parseEnv(billingEnvSchema, valid);
    expect(config.quotaTimeZone).toBe("Europe/Moscow");
    expect(config.plans).toEqual([
      {
        code: "free",
        title: "Free",
        isDefault: true,
        priceMinor: 0n,
        currency: "RUB",
        periodMonths: 0,
        quotas: [
          { metric: "chat_tokens", limitUnits: 50n, window: "day" },
          { metric: "tpl_run", limitUnits: 20n, window: "month" },
        ],
      },
      {
        code: "pro_month",
        title: "Pro, one month",
        isDefault: false,
        priceMinor: 99_000n,
        currency: "RUB",
        periodMonths: 1,
        quotas: [
          { metric: "chat_tokens", limitUnits: 10_000n, window: "month" },
          { metric: "tpl_run", limitUnits: 200n, window: "month" },
        ],
      },
    ]);
  });

  it("takes plans, metrics, windows and limits from BILLING_PLANS", () => {
    const config = parseEnv(
      billingEnvSchema,
      plans([
        {
          plan_code: "basic",
          title: "Basic",
          is_default: true,
          quotas: [{ metric: "api_calls", limit: 1000, window: "month" }],
        },
        {
          plan_code: "team",
          title: "Team",
          price_minor: 500_000,
          period_months: 12,
          quotas: [{ metric: "api_calls", limit: 1, window: "day" }],
        },
      ]),
    );
    expect(config.plans.map((p) => [p.code, p.isDefault, p.periodMonths, p.quotas[0]?.limitUnits])).toEqual([
      ["basic", true, 0, 1000n],
      ["team", false, 12, 1n],
    ]);
  });

  it.each([
    ["not JSON", "{plans", /BILLING_PLANS: is not valid JSON/],
    [
      "no default plan",
      JSON.stringify([{ plan_code: "a", title: "A", quotas: [quota] }]),
      /exactly one plan must have "is_default": true \(found none\)/,
    ],
    [
      "two default plans",
      JSON.stringify([
        { plan_code: "a", title: "A", is_default: true, quotas: [quota] },
        { plan_code: "b", title: "B", is_default: true, quotas: [quota] },
      ]),
      /exactly one plan .* \(found a, b\)/,
    ],
    [
      "a plan code twice",
      JSON.stringify([
        { plan_code: "a", title: "A", is_default: true, quotas: [quota] },
        { plan_code: "a", title: "A2", quotas: [quota] },
      ]),
      /BILLING_PLANS\.1\.plan_code: plan a is listed twice/,
    ],
    [
      "a zero limit",
      JSON.stringify([{ plan_code: "a", title: "A", is_default: true, quotas: [{ ...quota, limit: 0 }] }]),
      /BILLING_PLANS\.0\.quotas\.0\.limit: must be positive/,
    ],
    [
      "a fractional limit",
      JSON.stringify([{ plan_code: "a", title: "A", is_default: true, quotas: [{ ...quota, limit: 1.5 }] }]),
      /quotas\.0\.limit: must be a whole number/,
    ],
    [
      "an unknown window",
      JSON.stringify([
        { plan_code: "a", title: "A", is_default: true, quotas: [{ ...quota, window: "week" }] },
      ]),
      /quotas\.0\.window: must be one of day, month/,
    ],
    [
      "a metric twice",
      JSON.stringify([{ plan_code: "a", title: "A", is_default: true, quotas: [quota, quota] }]),
      /quotas\.1\.metric: metric chat_tokens is listed twice/,
    ],
    [
      "a misspelt key",
      JSON.stringify([{ plan_code: "a", title: "A", is_default: true, quotas: [{ ...quota, limt: 3 }] }]),
      /quotas\.0: Unrecognized key/,
    ],
    [
      "a plan without quotas",
      JSON.stringify([{ plan_code: "a", title: "A", is_default: true, quotas: [] }]),
      /at least one quota/,
    ],
    [
      "a priced default plan",
      JSON.stringify([
        { plan_code: "a", title: "A", is_default: true, price_minor: 100, period_months: 1, quotas: [quota] },
      ]),
      /default plan a must have no price_minor/,
    ],
    [
      "a priced plan without a period",
      JSON.stringify([
        { plan_code: "a", title: "A", is_default: true, quotas: [quota] },
        { plan_code: "b", title: "B", price_minor: 100, quotas: [quota] },
      ]),
      /BILLING_PLANS\.1\.period_months: plan b has a price/,
    ],
    ["an empty catalogue", "[]", /at least one plan/],
    [
      "a bad plan code",
      JSON.stringify([{ plan_code: "Pro Month", title: "A", is_default: true, quotas: [quota] }]),
      /plan_code: must be a lower-case name/,
    ],
  ])("refuses %s with a clear start-up error", (_name, value, expected) => {
    expect(problems({ ...valid, BILLING_PLANS: value })).toMatch(expected);
  });

  it("accepts IANA zones as written and refuses anything else", () => {
    expect(
      parseEnv(billingEnvSchema, { ...valid, BILLING_QUOTA_TIME_ZONE: "Europe/Berlin" }).quotaTimeZone,
    ).toBe("Europe/Berlin");
    expect(
      parseEnv(billingEnvSchema, { ...valid, BILLING_QUOTA_TIME_ZONE: "Europe/Kyiv" }).quotaTimeZone,
    ).toBe("Europe/Kyiv");
    expect(parseEnv(billingEnvSchema, { ...valid, BILLING_QUOTA_TIME_ZONE: "UTC" }).quotaTimeZone).toBe(
      "UTC",
    );
    expect(
      parseEnv(billingEnvSchema, { ...valid, BILLING_QUOTA_TIME_ZONE: "America/Argentina/Buenos_Aires" })
        .quotaTimeZone,
    ).toBe("America/Argentina/Buenos_Aires");
    for (const bad of ["Mars/Olympus_Mons", "+03:00", "MSK+3", "Europe/Moscow; drop table"]) {
      expect(problems({ ...valid, BILLING_QUOTA_TIME_ZONE: bad })).toMatch(
        /BILLING_QUOTA_TIME_ZONE: must be an IANA time zone/,
      );
    }
  });
});
