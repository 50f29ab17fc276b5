import { describe, expect, it } from "vitest";
import { billingEnvSchema, ConfigError, parseEnv } from "../src/index.js";

const base = {
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/billing",
  BILLING_TOKENS: "admin:admin-token-0123456789",
};
const TOKEN = "123456:ABC-secret_token";

function problems(env: Record<string, string>): string {
  try {
    parseEnv(billingEnvSchema, { ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return "";
}

describe("Telegram Stars configuration", () => {
  it("sells the product's Stars packages at 50 ⭐ → 100 credits; refunds off without a bot token", () => {
    const { stars } = parseEnv(billingEnvSchema, base).payments;
    expect(stars.packagesStars).toEqual([50n, 150n, 250n, 500n]);
    expect(stars.rate).toEqual({ stars: 50n, credits: 100n });
    expect(stars.invoiceTtlMs).toBe(86_400_000);
    expect(stars.telegram).toBeUndefined();
  });

  it("reads packages, the rate and the bot token for refunds; STARS_PACKAGES=off turns Stars off", () => {
    const { stars } = parseEnv(billingEnvSchema, {
      ...base,
      STARS_PACKAGES: "10, 30",
      STARS_RATE: "10:15",
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: "http://127.0.0.1:8081",
    }).payments;
    expect(stars.packagesStars).toEqual([10n, 30n]);
    expect(stars.rate).toEqual({ stars: 10n, credits: 15n });
    expect(stars.telegram).toMatchObject({ token: TOKEN, apiRoot: "http://127.0.0.1:8081", maxAttempts: 4 });
    expect(
      parseEnv(billingEnvSchema, { ...base, STARS_PACKAGES: "off" }).payments.stars.packagesStars,
    ).toEqual([]);
  });

  it("refuses packages that are not whole stars, repeats, rates that are not <stars>:<credits>, and fractions of credits", () => {
    expect(problems({ STARS_PACKAGES: "50,abc" })).toContain("STARS_PACKAGES");
    expect(problems({ STARS_PACKAGES: "50,50" })).toContain("listed twice");
    expect(problems({ STARS_PACKAGES: "20000" })).toContain("STARS_PACKAGES");
    expect(problems({ STARS_RATE: "0:10" })).toContain("STARS_RATE");
    expect(problems({ STARS_RATE: "3:1", STARS_PACKAGES: "50" })).toContain("whole number of credits");
    const bad = problems({ TELEGRAM_BOT_TOKEN: "not a token" });
    expect(bad).toContain("TELEGRAM_BOT_TOKEN");
    expect(bad).not.toContain("not a token");
  });
});
