// Telegram Stars with the bot in webhook mode: a successful_payment is answered 200 only once
// billing accepted it; while billing is down the request is held (Telegram's own timeout cuts it;
// a stopping bot answers 503) and the Telegram fake delivers the update again, so the payment is
// credited once billing is back. Real billing, PostgreSQL, NATS.
import { PaymentStatus } from "@billing/proto/billing/v1/payments_pb";
import { TransactionKind } from "@billing/proto/billing/v1/wallet_pb";
import { type AppProcess, spawnApp, waitFor, waitForHttpOk } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "./stack.js";

let stack: Stack;
let restarted: AppProcess | undefined;

beforeAll(async () => {
  // Slow retries, so Telegram keeps trying while billing restarts (Telegram itself retries for long).
  stack = await startStack({
    label: "bot_stars_hook",
    webhook: true,
    telegram: {
      webhookRetryDelaysMs: [300, 600, 1_000, 2_000, 3_000, 5_000, 5_000, 5_000],
      webhookTimeoutMs: 3_000,
    },
  });
});
afterAll(async () => {
  await restarted?.stop(10_000);
  await stack?.close();
});

describe("Stars in webhook mode", () => {
  it(
    "credits a payment delivered while billing was down, once, after failed deliveries and redeliveries",
    { timeout: 120_000 },
    async () => {
      const user = stack.user({ id: 7201, language_code: "en" });
      let at = user.send("/start").message_id;
      const menu = await user.reply(at, /👋/);
      at = user.mark();
      user.press("💰", { on: menu });
      const balance = await user.reply(at, /Balance/);
      at = user.mark();
      user.press("Stars", { on: balance });
      const packages = await user.reply(at, /Telegram Stars/);
      at = user.mark();
      user.press("⭐ 50", { on: packages });
      const invoice = await user.reply(at, (m) => m.invoice !== undefined);
      const payment = (await stack.admin.payments.listPayments({ userRef: `telegram:${user.id}` }))
        .payments[0];
      expect(payment?.status).toBe(PaymentStatus.PENDING);

      const query = stack.telegram.preCheckoutQuery(user.init, {
        currency: "XTR",
        total_amount: 50,
        invoice_payload: payment?.paymentId ?? "",
      });
      await stack.telegram.waitFor(
        () => stack.telegram.preCheckoutAnswer(query.id),
        10_000,
        "pre-checkout answer",
      );
      expect(stack.telegram.preCheckoutAnswer(query.id)?.ok).toBe(true);

      await stack.billing.app.stop(10_000);
      const taken = stack.telegram.successfulPayment(user.init, {
        currency: "XTR",
        total_amount: 50,
        invoice_payload: payment?.paymentId ?? "",
      });
      const updateIdOf = () =>
        stack.telegram
          .webhookDeliveries()
          .filter((d) => d.status !== 200)
          .at(-1)?.updateId;
      await waitFor("the update to go unacknowledged while billing is down", () => updateIdOf(), 30_000);

      restarted = spawnApp("billing", stack.billing.env);
      await waitForHttpOk(`${stack.billing.metricsUrl}/readyz`, restarted, 30_000);
      const updateId = updateIdOf();
      await user.reply(invoice.message_id, /Payment received/, 40_000);
      // The bot replies while it handles the delivery and answers 200 after: the fake records the
      // delivery once that answer is in.
      const deliveries = await waitFor("the redelivery to be acknowledged", () => {
        const ofUpdate = stack.telegram.webhookDeliveries().filter((d) => d.updateId === updateId);
        return ofUpdate.at(-1)?.status === 200 ? ofUpdate : undefined;
      });
      expect(deliveries.some((d) => d.status !== 200)).toBe(true);
      expect(deliveries.at(-1)?.status).toBe(200);
      const statement = await stack.admin.wallet.listTransactions({ userRef: `telegram:${user.id}` });
      expect(statement.transactions.filter((t) => t.kind === TransactionKind.TOP_UP)).toHaveLength(1);
      expect((await stack.admin.wallet.getBalance({ userRef: `telegram:${user.id}` })).creditsAvailable).toBe(
        100n,
      );
      const paid = (await stack.admin.payments.getPayment({ paymentId: payment?.paymentId ?? "" })).payment;
      expect(paid?.providerPaymentId).toBe(taken.successful_payment?.telegram_payment_charge_id);
      const verified = await stack.admin.wallet.verifyLedger({});
      expect(verified.violations).toEqual([]);
    },
  );
});
