// The pure rules of payments: no server, no database.
import type { Payment as ProviderPayment } from "@billing/yookassa";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PaymentStatusCode } from "../../src/domain/payment-codes.js";
import { paymentRequestOf, storedPaymentRequest } from "../../src/payments/requests.js";
import {
  creditsFor,
  formatRubles,
  idempotenceKeyFor,
  mismatchesOf,
  refundCredits,
  refundTransitionOf,
  renderDescription,
  transitionOf,
} from "../../src/payments/rules.js";

describe("payment rules", () => {
  it("buys whole credits only, in integers", () => {
    expect(creditsFor(10_000n, 1n)).toBe(100n);
    expect(creditsFor(10_050n, 1n)).toBeUndefined();
    expect(creditsFor(10_050n, 2n)).toBe(201n);
    expect(formatRubles(10_000n)).toBe("100");
    expect(formatRubles(10_005n)).toBe("100.05");
    expect(
      renderDescription("Пополнение на {rub} ₽ ({credits} кр.)", {
        amountMinor: 1_050n,
        credits: 10n,
        planTitle: "",
      }),
    ).toBe("Пополнение на 10.50 ₽ (10 кр.)");
    expect([
      ...renderDescription("{plan}", { amountMinor: 1n, credits: 0n, planTitle: "x".repeat(300) }),
    ]).toHaveLength(128);
  });

  it("derives a YooKassa Idempotence-Key from billing's id: fixed, ≤64 characters of the allowed alphabet", () => {
    const id = "3f2c0b8e-6a1d-4c9e-9b7a-2d5e8f1a0c3b";
    const key = idempotenceKeyFor("payment", id);
    expect(key).toBe(`billing-payment-${id}`);
    expect(key).toMatch(/^[0-9A-Za-z+_.-]{1,64}$/);
    expect(idempotenceKeyFor("refund", id)).toMatch(/^[0-9A-Za-z+_.-]{1,64}$/);
  });

  it("moves statuses forward only; settled ones never change", () => {
    const statuses: PaymentStatusCode[] = [
      "CREATING",
      "PENDING",
      "WAITING_FOR_CAPTURE",
      "SUCCEEDED",
      "CANCELED",
    ];
    const table = statuses.map((local) => statuses.slice(1).map((remote) => transitionOf(local, remote)));
    expect(table).toEqual([
      ["advance", "advance", "advance", "advance"],
      ["same", "advance", "advance", "advance"],
      ["behind", "same", "advance", "advance"],
      ["behind", "behind", "same", "conflict"],
      ["behind", "behind", "conflict", "same"],
    ]);
    expect(refundTransitionOf("CREATING", "succeeded")).toBe("advance");
    expect(refundTransitionOf("PENDING", "pending")).toBe("same");
    expect(refundTransitionOf("SUCCEEDED", "pending")).toBe("behind");
    expect(refundTransitionOf("SUCCEEDED", "canceled")).toBe("conflict");
  });

  it("partial refunds take back credits that add up to exactly the payment's credits", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10_000n }),
        fc.array(fc.bigInt({ min: 1n, max: 1_000_000n }), { minLength: 1, maxLength: 10 }),
        (credits, parts) => {
          const amountMinor = parts.reduce((a, b) => a + b, 0n);
          let allocatedMinor = 0n;
          let taken = 0n;
          for (const refundMinor of parts) {
            const share = refundCredits({ credits, amountMinor, allocatedMinor, refundMinor });
            expect(share).toBeGreaterThanOrEqual(0n);
            taken += share;
            allocatedMinor += refundMinor;
          }
          expect(taken).toBe(credits);
        },
      ),
    );
  });

  it("names every disagreement between billing's payment and YooKassa's", () => {
    const remote: ProviderPayment = {
      id: "p-1",
      status: "succeeded",
      paid: true,
      amount: { amountMinor: 10_000n, currency: "RUB" },
      createdAt: "2026-11-22T10:00:00.000Z",
      test: true,
      refundable: true,
      metadata: { billing_payment_id: "b-1" },
    };
    const local = { id: "b-1", providerPaymentId: "p-1", amountMinor: 10_000n, currency: "RUB" };
    expect(mismatchesOf(local, remote, { allowTestPayments: true })).toEqual([]);
    expect(
      mismatchesOf({ id: "b-2", providerPaymentId: "p-2", amountMinor: 50_000n, currency: "USD" }, remote, {
        allowTestPayments: false,
      }),
    ).toHaveLength(5);
  });

  it("rebuilds the very same YooKassa request from what it stored", () => {
    const stored = {
      amountMinor: "10000",
      currency: "RUB",
      returnUrl: "https://t.me/example_bot",
      description: "Пополнение баланса на 100 ₽",
      metadata: { billing_payment_id: "b-1", user_ref: "telegram:1" },
      receipt: {
        phone: "79001234567",
        itemDescription: "x",
        vatCode: 1,
        paymentSubject: "service",
        paymentMode: "full_prepayment",
      },
    };
    const request = paymentRequestOf(storedPaymentRequest(JSON.parse(JSON.stringify(stored))));
    expect(request).toEqual(paymentRequestOf(storedPaymentRequest(stored)));
    expect(request).toMatchObject({ capture: true, amount: { amountMinor: 10_000n } });
    expect(request.receipt?.items[0]?.amount.amountMinor).toBe(10_000n);
    expect(() => storedPaymentRequest({ ...stored, amountMinor: 100.5 })).toThrow(/malformed/);
  });
});
