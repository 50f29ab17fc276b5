// The pure Stars rules: credits at the rate, the invoice Telegram accepts, and what a pre-checkout
// or a successful_payment must agree with. No I/O.
import type { StarsConfig } from "@billing/config";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  creditsForStars,
  invoiceOf,
  preCheckoutRefusal,
  type StarsPaymentFacts,
  starsMismatchesOf,
  telegramPayerOf,
} from "../../src/payments/rules.js";

const stars: StarsConfig = {
  packagesStars: [50n],
  rate: { stars: 50n, credits: 100n },
  title: "{credits} кредитов за {stars} ⭐ и ещё очень длинный хвост",
  description: "x".repeat(300),
  invoiceTtlMs: 60_000,
  telegram: undefined,
};
const created = new Date("2026-12-03T10:00:00Z");
const payment: StarsPaymentFacts = {
  id: "6bab2de3-be10-460e-a88c-ade093605270",
  provider: "TELEGRAM_STARS",
  userRef: "telegram:42",
  currency: "XTR",
  amountMinor: 50n,
  status: "PENDING",
  createdAt: created,
  providerPaymentId: null,
};
const order = { userRef: "telegram:42", invoicePayload: payment.id, currency: "XTR", totalAmount: 50n };

describe("Stars rules", () => {
  it("credits at the rate are whole or refused, never rounded", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10_000n }),
        fc.bigInt({ min: 1n, max: 1_000n }),
        fc.bigInt({ min: 1n, max: 1_000n }),
        (size, rateStars, rateCredits) => {
          const credits = creditsForStars(size, { stars: rateStars, credits: rateCredits });
          if (credits === undefined) expect((size * rateCredits) % rateStars).not.toBe(0n);
          else expect(credits * rateStars).toBe(size * rateCredits);
        },
      ),
    );
    expect(creditsForStars(50n, stars.rate)).toBe(100n);
  });

  it("the invoice fits Telegram's limits and carries the payment id", () => {
    const invoice = invoiceOf(stars, { id: payment.id, amountMinor: 50n, credits: 100n });
    expect([...invoice.title].length).toBeLessThanOrEqual(32);
    expect(invoice.title.startsWith("100 кредитов за 50 ⭐")).toBe(true);
    expect(invoice.description).toHaveLength(255);
    expect(invoice).toMatchObject({ payload: payment.id, currency: "XTR", amount: "50" });
  });

  it("a pre-checkout passes only for the payment's own pending, unexpired order", () => {
    const now = new Date(created.getTime() + 1_000);
    expect(preCheckoutRefusal(payment, order, now, stars)).toBeUndefined();
    expect(preCheckoutRefusal(payment, { ...order, totalAmount: 51n }, now, stars)?.reason).toBe(
      "PAYMENT_MISMATCH",
    );
    expect(preCheckoutRefusal(payment, { ...order, userRef: "telegram:43" }, now, stars)?.reason).toBe(
      "PAYMENT_MISMATCH",
    );
    expect(preCheckoutRefusal({ ...payment, status: "SUCCEEDED" }, order, now, stars)?.reason).toBe(
      "PAYMENT_STATE",
    );
    const expired = new Date(created.getTime() + 60_000);
    expect(preCheckoutRefusal(payment, order, expired, stars)?.reason).toBe("PAYMENT_STATE");
    expect(starsMismatchesOf({ ...payment, provider: "YOOKASSA", currency: "RUB" }, order)).toHaveLength(2);
  });

  it("only telegram:<id> user refs pay with Stars", () => {
    expect(telegramPayerOf("telegram:42")).toBe(42);
    expect(telegramPayerOf("telegram:0")).toBeUndefined();
    expect(telegramPayerOf("service:42")).toBeUndefined();
    expect(telegramPayerOf("telegram:99999999999999999")).toBeUndefined();
  });
});
