// Paying with Telegram Stars end to end: the bot process against the Telegram fake (which keeps
// Telegram's rules: XTR invoices with an empty provider token and one price, a pre_checkout_query
// that must be answered within its deadline, successful_payment only after ok), real billing,
// PostgreSQL and NATS. Assertions are on what the user saw, balances, the ledger and dead letters.
import { fromBinary } from "@bufbuild/protobuf";
import { jetstreamManager } from "@billing/events";
import { DeadLetterSchema } from "@billing/proto/events/v1/deadletter_pb";
import { PaymentProvider, PaymentStatus } from "@billing/proto/billing/v1/payments_pb";
import { TransactionKind } from "@billing/proto/billing/v1/wallet_pb";
import { type AppProcess, spawnApp, type TgMessage, waitFor, waitForHttpOk } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack, type TestUser } from "./stack.js";

/** The fake drops a pre_checkout_query unanswered after this long (Telegram: 10 s). */
const PRE_CHECKOUT_TTL_MS = 4_000;

let stack: Stack;
/** A billing started again on the same ports and database (the restart test); stopped at the end. */
let restarted: AppProcess | undefined;

beforeAll(async () => {
  stack = await startStack({ label: "bot_stars", telegram: { preCheckoutTtlMs: PRE_CHECKOUT_TTL_MS } });
});
afterAll(async () => {
  await restarted?.stop(10_000);
  await stack?.close();
});

const ref = (user: TestUser) => `telegram:${user.id}`;
const credits = async (user: TestUser) =>
  (await stack.admin.wallet.getBalance({ userRef: ref(user) })).creditsAvailable;
const topUps = async (user: TestUser) =>
  (await stack.admin.wallet.listTransactions({ userRef: ref(user), pageSize: 50 })).transactions.filter(
    (t) => t.kind === TransactionKind.TOP_UP,
  );
const verifyOk = async () => {
  const verified = await stack.admin.wallet.verifyLedger({});
  expect(verified.violations).toEqual([]);
  expect(verified.ok).toBe(true);
};
const isInvoice = (m: TgMessage) => m.invoice !== undefined;

/** /start, the balance screen, "⭐ Pay with Stars", a package: the invoice the bot sent. */
async function invoiceFor(user: TestUser, starsLabel = "⭐ 50"): Promise<TgMessage> {
  let at = user.send("/start").message_id;
  const menu = await user.reply(at, /👋/);
  at = user.mark();
  user.press("💰", { on: menu });
  const balance = await user.reply(at, /Баланс|Balance/);
  at = user.mark();
  user.press("Stars", { on: balance });
  const packages = await user.reply(at, /Telegram/);
  at = user.mark();
  user.press(starsLabel, { on: packages });
  return user.reply(at, isInvoice);
}

async function pendingPaymentOf(user: TestUser) {
  const listed = await stack.admin.payments.listPayments({ userRef: ref(user) });
  const pending = listed.payments.find((p) => p.status === PaymentStatus.PENDING);
  if (pending === undefined) throw new Error(`user ${user.id} has no pending payment`);
  return pending;
}

async function lastDeadLetter() {
  const jsm = await jetstreamManager(stack.nc);
  const stored = await jsm.streams.getMessage(stack.names.streams.deadLetter, {
    last_by_subj: stack.names.subject("deadletter.telegram.successful_payment"),
  });
  if (stored === null) throw new Error("no dead letter");
  return fromBinary(DeadLetterSchema, stored.data);
}

describe("paying with Telegram Stars", () => {
  it("the whole journey: Stars packages, an XTR invoice, pre-checkout, credited once, named in the statement", async () => {
    const user = stack.user({ id: 7101, first_name: "Звезда", language_code: "ru" });
    const invoice = await invoiceFor(user);
    const payment = await pendingPaymentOf(user);
    expect(invoice.invoice).toMatchObject({ currency: "XTR", total_amount: 50 });
    expect(payment).toMatchObject({
      provider: PaymentProvider.TELEGRAM_STARS,
      amountMinor: 50n,
      credits: 100n,
    });
    const sent = stack.telegram.calls("sendInvoice").at(-1);
    expect(sent?.params).toMatchObject({ currency: "XTR", payload: payment.paymentId });
    expect(sent?.params["provider_token"] ?? "").toBe("");
    const prices: unknown = sent?.params["prices"];
    expect(typeof prices === "string" ? JSON.parse(prices) : prices).toHaveLength(1);

    const at = user.mark();
    const paid = await stack.telegram.payInvoice(user.init, invoice);
    expect(paid.status).toBe("paid");
    const told = await user.reply(at, /Оплата получена/);
    expect(told.text).toContain("Начислено 100 кредитов");
    expect(await credits(user)).toBe(100n);
    expect(await topUps(user)).toEqual([
      expect.objectContaining({ amount: 100n, reference: payment.paymentId }),
    ]);
    const succeeded = (await stack.admin.payments.getPayment({ paymentId: payment.paymentId })).payment;
    expect(succeeded).toMatchObject({
      status: PaymentStatus.SUCCEEDED,
      providerPaymentId: paid.status === "paid" ? paid.chargeId : "?",
      provider: PaymentProvider.TELEGRAM_STARS,
    });

    // The statement names the top-up.
    const before = user.mark();
    user.send("/balance");
    const statement = await user.reply(before, /Баланс/);
    expect(statement.text).toContain("⭐ Пополнение Telegram Stars: +100 кредитов");
    await verifyOk();
  });

  it("the statement in English names Telegram Stars too; a duplicate successful_payment credits once", async () => {
    const user = stack.user({ id: 7102, first_name: "Star", language_code: "en" });
    const invoice = await invoiceFor(user);
    const paid = await stack.telegram.payInvoice(user.init, invoice);
    if (paid.status !== "paid") throw new Error(`not paid: ${paid.status}`);
    await user.reply(invoice.message_id, /Payment received/);
    // Telegram reports the same charge again.
    const accepted = await stack.metric("bot_stars_payments_total", { outcome: "accepted" });
    const again = stack.telegram.successfulPayment(user.init, {
      currency: "XTR",
      total_amount: 50,
      invoice_payload: paid.message.successful_payment?.invoice_payload ?? "",
      telegram_payment_charge_id: paid.chargeId,
    });
    await stack.telegram.waitFor(
      () => (stack.telegram.pendingUpdateCount() === 0 ? true : undefined),
      20_000,
      "the duplicate to be taken",
    );
    await waitFor(
      "the duplicate handed over and accepted",
      async () =>
        (await stack.metric("bot_stars_payments_total", { outcome: "accepted" })) > accepted
          ? true
          : undefined,
      20_000,
    );
    expect(again.successful_payment?.telegram_payment_charge_id).toBe(paid.chargeId);
    expect(await credits(user)).toBe(100n);
    expect(await topUps(user)).toHaveLength(1);
    const before = user.mark();
    user.send("/balance");
    const statement = await user.reply(before, /Balance/);
    expect(statement.text).toContain("⭐ Telegram Stars top-up: +100 credits");
    await verifyOk();
  });

  it("a pre-checkout answer that arrives too late: Telegram fails the payment and nothing is credited", async () => {
    const user = stack.user({ id: 7103, language_code: "ru" });
    const invoice = await invoiceFor(user);
    // The answer reaches Telegram after its deadline.
    stack.telegram.failNext("answerPreCheckoutQuery", {
      type: "delay",
      delayMs: PRE_CHECKOUT_TTL_MS + 1_000,
    });
    const outcome = await stack.telegram.payInvoice(user.init, invoice);
    expect(outcome.status).toBe("unanswered");
    await waitFor(
      "the bot to see its answer refused as too old",
      async () =>
        (await stack.metric("bot_pre_checkout_answers_total", { outcome: "failed" })) >= 1 ? true : undefined,
      20_000,
    );
    expect(await credits(user)).toBe(0n);
    expect((await pendingPaymentOf(user)).status).toBe(PaymentStatus.PENDING);
    await verifyOk();
  });

  it("a 429 on answerPreCheckoutQuery is waited out within the deadline; a paid invoice is refused a second time", async () => {
    const user = stack.user({ id: 7104, language_code: "ru" });
    const invoice = await invoiceFor(user);
    stack.telegram.failNext("answerPreCheckoutQuery", { type: "tooManyRequests", retryAfterS: 0.3 });
    expect((await stack.telegram.payInvoice(user.init, invoice)).status).toBe("paid");
    await waitFor("credit", async () => ((await credits(user)) === 100n ? true : undefined), 20_000);
    const second = await stack.telegram.payInvoice(user.init, invoice);
    expect(second).toMatchObject({
      status: "declined",
      errorMessage: expect.stringContaining("уже оплачен"),
    });
    expect(await credits(user)).toBe(100n);
    await verifyOk();
  });

  it("a successful_payment that matches no pending payment credits nothing and is parked as a dead letter", async () => {
    const user = stack.user({ id: 7105, language_code: "ru" });
    const invoice = await invoiceFor(user);
    const payment = await pendingPaymentOf(user);
    let at = user.mark();
    const bogus = stack.telegram.successfulPayment(user.init, {
      currency: "XTR",
      total_amount: 50,
      invoice_payload: "not-a-payment-of-billing",
    });
    await user.reply(at, /Поддержка проверит платёж/);
    let letter = await lastDeadLetter();
    expect(letter).toMatchObject({ app: "bot", reasonCode: "payment_mismatch" });
    expect(letter.deadLetterId).toBe(`stars-${bogus.successful_payment?.telegram_payment_charge_id}`);

    // The right payload with the wrong amount: nothing either.
    at = user.mark();
    const wrong = stack.telegram.successfulPayment(user.init, {
      currency: "XTR",
      total_amount: 49,
      invoice_payload: payment.paymentId,
    });
    await user.reply(at, /Поддержка проверит платёж/);
    letter = await lastDeadLetter();
    expect(letter.deadLetterId).toBe(`stars-${wrong.successful_payment?.telegram_payment_charge_id}`);
    expect(new TextDecoder().decode(letter.payload)).toContain(payment.paymentId);
    expect(await credits(user)).toBe(0n);
    expect((await pendingPaymentOf(user)).paymentId).toBe(payment.paymentId);
    expect(invoice.invoice?.total_amount).toBe(50);
    expect(await stack.metric("bot_stars_payments_total", { outcome: "rejected" })).toBeGreaterThanOrEqual(2);
    const billingMetrics = await (await fetch(`${stack.billing.metricsUrl}/metrics`)).text();
    expect(billingMetrics).toMatch(/^billing_payment_mismatches_total(\{[^}]*\})? [1-9]/m);
    await verifyOk();
  });

  it("a refund goes back through refundStarPayment and takes the credits back", async () => {
    const user = stack.user({ id: 7106, language_code: "ru" });
    const invoice = await invoiceFor(user);
    const payment = await pendingPaymentOf(user);
    const paid = await stack.telegram.payInvoice(user.init, invoice);
    if (paid.status !== "paid") throw new Error(`not paid: ${paid.status}`);
    await waitFor("credit", async () => ((await credits(user)) === 100n ? true : undefined), 20_000);
    stack.telegram.failNext("refundStarPayment", { type: "tooManyRequests", retryAfterS: 0.2 });
    const refunded = await stack.admin.payments.refundPayment({
      paymentId: payment.paymentId,
      reason: "asked by the user",
      idempotencyKey: `refund-${payment.paymentId}`,
    });
    expect(refunded.refund).toMatchObject({ amountMinor: 50n, creditsReversed: 100n });
    expect(stack.telegram.isRefunded(paid.chargeId)).toBe(true);
    expect(await credits(user)).toBe(0n);
    await verifyOk();
  });

  // Two process restarts (billing, bot) and the bot's retry backoff: longer than the default 30 s on
  // a busy machine, though every step keeps its own bound.
  it("billing down: pre-checkout is answered ok:false in time; a payment taken meanwhile is credited once billing is back", async () => {
    const user = stack.user({ id: 7107, language_code: "ru" });
    const first = await invoiceFor(user);
    const payment = await pendingPaymentOf(user);
    const second = await invoiceFor(user, "⭐ 150");

    // Pre-checkout answered ok while billing is up…
    const order = { currency: "XTR", total_amount: 50, invoice_payload: payment.paymentId };
    const query = stack.telegram.preCheckoutQuery(user.init, order);
    await stack.telegram.waitFor(
      () => stack.telegram.preCheckoutAnswer(query.id),
      10_000,
      "pre-checkout answer",
    );
    expect(stack.telegram.preCheckoutAnswer(query.id)?.ok).toBe(true);

    // …then billing stops before Telegram reports the payment.
    await stack.billing.app.stop(10_000);
    const unavailable = await stack.telegram.payInvoice(user.init, second);
    expect(unavailable).toMatchObject({
      status: "declined",
      errorMessage: expect.stringContaining("недоступен"),
    });
    const taken = stack.telegram.successfulPayment(user.init, order);
    await waitFor(
      "the bot to keep handing the payment over",
      async () =>
        (await stack.metric("bot_stars_payments_total", { outcome: "retried" })) >= 2 ? true : undefined,
      30_000,
    );
    // Not acknowledged: Telegram still holds the update.
    expect(stack.telegram.pendingUpdateCount()).toBeGreaterThan(0);

    // The bot restarts while billing is still down: the new instance gets the update again.
    await stack.bot.stop(10_000);
    const bot = spawnApp("bot", stack.botEnv);
    try {
      await waitForHttpOk(`${stack.botOps}/readyz`, bot, 30_000);
      restarted = spawnApp("billing", stack.billing.env);
      await waitForHttpOk(`${stack.billing.metricsUrl}/readyz`, restarted, 30_000);
      await waitFor("credit", async () => ((await credits(user)) === 100n ? true : undefined), 30_000);
      await user.reply(first.message_id, /Оплата получена/, 30_000);
      expect(await topUps(user)).toHaveLength(1);
      const succeeded = (await stack.admin.payments.getPayment({ paymentId: payment.paymentId })).payment;
      expect(succeeded?.providerPaymentId).toBe(taken.successful_payment?.telegram_payment_charge_id);
      await stack.telegram.waitFor(
        () => (stack.telegram.pendingUpdateCount() === 0 ? true : undefined),
        20_000,
        "the update to be acknowledged",
      );
      expect(await credits(user)).toBe(100n);
      await verifyOk();
    } finally {
      await bot.stop(10_000);
    }
  }, 120_000);
});
