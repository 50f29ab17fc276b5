// The pure rules of the one payment/refund lifecycle and of the top-up catalogue: no server, no
// database.
import { billingEnvSchema, parseEnv } from "@billing/config";
import type { Refund as ProviderRefund } from "@billing/yookassa";
import { describe, expect, it } from "vitest";
import {
  CREATE_ABANDON_AFTER_MS,
  refundMismatchesOf,
  refusedCreateStep,
  resolvePurchase,
  transitionOf,
  unansweredCreateStep,
} from "../../src/payments/rules.js";

const config = parseEnv(billingEnvSchema, {
  DATABASE_URL: "postgres://postgres@127.0.0.1/unused",
  BILLING_TOKENS: "admin:rules-test-token-0123456789abcdef",
}).payments;

describe("the one lifecycle", () => {
  it("resumes a young create, then gives up a payment but asks YooKassa about a refund", () => {
    expect(unansweredCreateStep("payment", CREATE_ABANDON_AFTER_MS)).toBe("resume");
    expect(unansweredCreateStep("refund", CREATE_ABANDON_AFTER_MS)).toBe("resume");
    expect(unansweredCreateStep("payment", CREATE_ABANDON_AFTER_MS + 1)).toBe("give_up");
    expect(unansweredCreateStep("refund", CREATE_ABANDON_AFTER_MS + 1)).toBe("look_up");
    expect(refusedCreateStep("payment")).toBe("give_up");
    expect(refusedCreateStep("refund")).toBe("look_up");
  });

  it("lets YooKassa's success override only a cancellation billing decided itself", () => {
    expect(transitionOf("CANCELED", "SUCCEEDED")).toBe("conflict");
    expect(transitionOf("CANCELED", "SUCCEEDED", { canceledByBilling: true })).toBe("advance");
    expect(transitionOf("CANCELED", "CANCELED", { canceledByBilling: true })).toBe("same");
    expect(transitionOf("CANCELED", "PENDING", { canceledByBilling: true })).toBe("behind");
    expect(transitionOf("SUCCEEDED", "CANCELED", { canceledByBilling: true })).toBe("conflict");
  });

  it("names every way a refund disagrees with billing's", () => {
    const remote: ProviderRefund = {
      id: "r-2",
      paymentId: "p-other",
      status: "succeeded",
      amount: { amountMinor: 5_000n, currency: "USD" },
      createdAt: "2026-12-02T10:00:00.000Z",
      metadata: { billing_refund_id: "someone-else" },
    };
    const local = {
      id: "mine",
      providerRefundId: "r-1",
      amountMinor: 10_000n,
      currency: "RUB",
      providerPaymentId: "p-1",
    };
    expect(refundMismatchesOf(local, remote)).toEqual([
      "provider id r-2 is not the stored r-1",
      "amount 5000 differs from the created 10000",
      "currency USD differs from the created RUB",
      "refunds payment p-other, not p-1",
      "metadata.billing_refund_id is someone-else",
    ]);
    const agreeing = {
      ...remote,
      id: "r-1",
      paymentId: "p-1",
      amount: { amountMinor: 10_000n, currency: "RUB" },
    };
    expect(refundMismatchesOf(local, { ...agreeing, metadata: { billing_refund_id: "mine" } })).toEqual([]);
  });
});

describe("the top-up catalogue", () => {
  it("prices packages and custom amounts, and names the field it refuses", () => {
    expect(resolvePurchase(config, { kind: "package", packageCode: "rub_100" })).toEqual({
      purchase: { kind: "package", packageCode: "rub_100", amountMinor: 10_000n, credits: 100n },
    });
    expect(resolvePurchase(config, { kind: "package", packageCode: "rub_7" })).toMatchObject({
      violation: { field: "package_code", description: expect.stringContaining("offered: rub_100") },
    });
    expect(resolvePurchase(config, { kind: "amount", amountMinor: 25_000n })).toEqual({
      purchase: { kind: "amount", amountMinor: 25_000n, credits: 250n },
    });
    for (const amountMinor of [1n, 25_050n, config.customMaxAmountMinor + 100n]) {
      expect(resolvePurchase(config, { kind: "amount", amountMinor })).toMatchObject({
        violation: { field: "amount_minor" },
      });
    }
    expect(resolvePurchase(config, { kind: "plan", planCode: "pro_month" })).toEqual({
      purchase: { kind: "plan", planCode: "pro_month" },
    });
  });
});
