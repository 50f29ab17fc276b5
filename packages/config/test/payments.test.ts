import { describe, expect, it } from "vitest";
import { billingEnvSchema, ConfigError, parseEnv } from "../src/index.js";

const base = {
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/billing",
  BILLING_TOKENS: "admin:admin-token-0123456789",
};
const shop = { YOOKASSA_SHOP_ID: "100500", YOOKASSA_SECRET_KEY: "live_s3cr3t-key-0123456789" };

function problems(env: Record<string, string>): string {
  try {
    parseEnv(billingEnvSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return "";
}

describe("payments configuration", () => {
  it("starts without a YooKassa shop (wallet-only) with the product's catalogue", () => {
    const { payments } = parseEnv(billingEnvSchema, base);
    expect(payments.yookassa).toBeUndefined();
    expect(payments.allowTestPayments).toBe(false);
    expect(payments.packagesMinor).toEqual([10_000n, 30_000n, 50_000n, 100_000n]);
    expect(payments.customMinAmountMinor).toBe(1_000n);
    expect(payments.customMaxAmountMinor).toBe(5_000_000n);
    expect(payments.creditsPerRub).toBe(1n);
    expect(payments.receipts).toBeUndefined();
    expect(payments.returnUrl).toBeUndefined();
  });

  it("reads a shop with the production API by default; test keys allow test objects", () => {
    const live = parseEnv(billingEnvSchema, { ...base, ...shop }).payments;
    expect(live.yookassa).toMatchObject({
      shopId: "100500",
      apiUrl: "https://api.yookassa.ru/v3/",
      timeoutMs: 35_000,
      maxAttempts: 5,
    });
    expect(live.allowTestPayments).toBe(false);
    const test = parseEnv(billingEnvSchema, { ...base, ...shop, YOOKASSA_SECRET_KEY: "test_0123456789" });
    expect(test.payments.allowTestPayments).toBe(true);
    const forced = parseEnv(billingEnvSchema, { ...base, ...shop, YOOKASSA_ALLOW_TEST_PAYMENTS: "true" });
    expect(forced.payments.allowTestPayments).toBe(true);
  });

  it("reads receipts, packages and bounds", () => {
    const { payments } = parseEnv(billingEnvSchema, {
      ...base,
      PAYMENTS_PACKAGES_RUB: "50, 150",
      PAYMENTS_CUSTOM_MIN_RUB: "20",
      PAYMENTS_CUSTOM_MAX_RUB: "1000",
      PAYMENTS_CREDITS_PER_RUB: "2",
      PAYMENTS_RECEIPTS: "true",
      PAYMENTS_RECEIPT_VAT_CODE: "4",
      PAYMENTS_RETURN_URL: "https://t.me/example_bot",
    });
    expect(payments.packagesMinor).toEqual([5_000n, 15_000n]);
    expect(payments.customMinAmountMinor).toBe(2_000n);
    expect(payments.customMaxAmountMinor).toBe(100_000n);
    expect(payments.creditsPerRub).toBe(2n);
    expect(payments.receipts).toEqual({
      vatCode: 4,
      paymentSubject: "service",
      paymentMode: "full_prepayment",
    });
    expect(payments.returnUrl).toBe("https://t.me/example_bot");
  });

  it("names every malformed variable and never echoes the secret key", () => {
    const message = problems({
      ...base,
      ...shop,
      PAYMENTS_PACKAGES_RUB: "100,100,1.5",
      PAYMENTS_RECEIPT_VAT_CODE: "13",
      PAYMENTS_RETURN_URL: "ftp://example.com",
      YOOKASSA_SECRET_KEY: "s3cr3t",
    });
    for (const variable of [
      "YOOKASSA_SECRET_KEY",
      "PAYMENTS_PACKAGES_RUB",
      "PAYMENTS_RECEIPT_VAT_CODE",
      "PAYMENTS_RETURN_URL",
    ])
      expect(message).toContain(variable);
    expect(message).toContain("listed twice");
    expect(message).not.toContain("s3cr3t");
  });

  it("checks the rules across variables once each is well-formed", () => {
    const message = problems({
      ...base,
      YOOKASSA_SECRET_KEY: "live_s3cr3t-key-0123456789",
      YOOKASSA_TIMEOUT_MS: "5000",
      PAYMENTS_CUSTOM_MIN_RUB: "600",
      PAYMENTS_CUSTOM_MAX_RUB: "500",
    });
    expect(message).toContain("YOOKASSA_SHOP_ID: set both");
    expect(message).toContain("YOOKASSA_TIMEOUT_MS: must be above 30000");
    expect(message).toContain("PAYMENTS_CUSTOM_MIN_RUB: must not be above");
    expect(message).not.toContain("s3cr3t");
  });

  it("allows a short YooKassa timeout only when asked to (tests against the fake)", () => {
    const config = parseEnv(billingEnvSchema, {
      ...base,
      ...shop,
      YOOKASSA_TIMEOUT_MS: "2000",
      YOOKASSA_UNSAFE_SHORT_TIMEOUT: "true",
    });
    expect(config.payments.yookassa?.timeoutMs).toBe(2_000);
  });
});
