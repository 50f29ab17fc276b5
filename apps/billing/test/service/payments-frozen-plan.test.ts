// A plan payment carries the plan it bought (code, title, period, price), frozen at CreateTopUp. A
// success always settles: if the plan has since left QuotaService's catalogue, or is no longer sold
// by period, the activation uses the plan as bought instead of leaving the paid payment PENDING.
import { PaymentPurpose, PaymentStatus } from "@billing/proto/billing/v1/payments_pb";
import { withPg } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PlanPrice, PlanPurchases } from "../../src/payments/index.js";
import { planPurchasesOf } from "../../src/quotas/plan-purchases.js";
import {
  type BillingWithFake,
  outboxSubjects,
  paymentRow,
  startBillingWithFake,
} from "../support/payments-helpers.js";

// QuotaService's catalogue when the payments succeed: "team" is no longer sold (no price, no
// period) and "pro_year" is gone.
const PLANS_AT_SUCCESS = JSON.stringify([
  {
    plan_code: "free",
    title: "Free",
    is_default: true,
    quotas: [{ metric: "chat_tokens", limit: 50, window: "day" }],
  },
  { plan_code: "team", title: "Team", quotas: [{ metric: "chat_tokens", limit: 90_000, window: "month" }] },
]);

// What the shop sold when the payments were created.
const SOLD: ReadonlyMap<string, PlanPrice> = new Map([
  ["team", { amountMinor: 300_000n, currency: "RUB", title: "Team, a quarter", periodMonths: 3 }],
  ["pro_year", { amountMinor: 500_000n, currency: "RUB", title: "Pro, one year", periodMonths: 12 }],
]);

let env: BillingWithFake;
beforeAll(async () => {
  // Prices come from the catalogue as it was; activations go to the real QuotaService as it is now.
  const plans: PlanPurchases = {
    priceOf: (planCode) => Promise.resolve(SOLD.get(planCode)),
    activate: (uow, command) => planPurchasesOf(env.billing.server.context().quotas).activate(uow, command),
  };
  env = await startBillingWithFake({
    label: "frozen_plan",
    env: { BILLING_PLANS: PLANS_AT_SUCCESS },
    planPurchases: plans,
  });
});
afterAll(async () => env?.close());

const dbUrl = () => env.billing.database.url;

describe("a plan payment whose plan changed before it succeeded", () => {
  it.each([
    ["pro_year", "left the catalogue", 12, 500_000n],
    ["team", "is no longer sold by period", 3, 300_000n],
  ])("%s (%s) settles with the plan as bought", async (planCode, _why, months, priceMinor) => {
    const user = `telegram:frozen-${planCode}`;
    const bot = env.billing.client("bot");
    await bot.wallet.openAccount({ userRef: user });
    const created = await bot.payments.createTopUp({
      userRef: user,
      purchase: { case: "planCode", value: planCode },
      idempotencyKey: `frozen-${planCode}`,
    });
    const payment = created.payment;
    expect(payment).toMatchObject({ purpose: PaymentPurpose.PLAN, planCode, amountMinor: priceMinor });
    expect(await paymentRow(dbUrl(), payment?.paymentId ?? "")).toMatchObject({
      plan_code: planCode,
      plan_title: SOLD.get(planCode)?.title,
      plan_period_months: months,
    });

    env.fake.pay(payment?.providerPaymentId ?? "");
    const before = Date.now();
    const applied = await env.billing.client("webhooks").payments.handleNotification({
      event: "payment.succeeded",
      objectId: payment?.providerPaymentId ?? "",
    });
    expect(applied.payment?.status).toBe(PaymentStatus.SUCCEEDED);

    const [plan] = await withPg(
      dbUrl(),
      async (pg) =>
        (
          await pg.query<{ plan_code: string; until: Date; payment_id: string }>(
            `select plan_code, until, payment_id from quota_user_plans where user_ref = $1`,
            [user],
          )
        ).rows,
    );
    expect(plan).toMatchObject({ plan_code: planCode, payment_id: payment?.paymentId });
    // `months` calendar months from now (the quota calendar's time zone may shift it by a day).
    const expected = new Date(before);
    expected.setUTCMonth(expected.getUTCMonth() + months);
    expect(Math.abs((plan?.until.getTime() ?? 0) - expected.getTime())).toBeLessThan(2 * 86_400_000);
    const activated = (await outboxSubjects(dbUrl())).filter((s) => s === "billing.plan.activated");
    expect(activated.length).toBeGreaterThan(0);
    // Settled: the sweep has nothing left to re-read, and a repeat changes nothing.
    expect(await paymentRow(dbUrl(), payment?.paymentId ?? "")).toMatchObject({
      status: "SUCCEEDED",
      next_sync_at: null,
    });
    const again = await env.billing.client("webhooks").payments.handleNotification({
      event: "payment.succeeded",
      objectId: payment?.providerPaymentId ?? "",
    });
    expect(again.payment?.status).toBe(PaymentStatus.SUCCEEDED);
    expect(await env.billing.client("admin").wallet.verifyLedger({})).toMatchObject({ ok: true });
  });
});
