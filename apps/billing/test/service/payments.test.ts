// PaymentService through a real billing server over gRPC against the YooKassa fake. The tests play
// the webhooks app's part by calling HandleNotification themselves (the webhooks app's own tests run
// the whole chain), and check what a user would see and what billing stored.
import { Code, ConnectError } from "@connectrpc/connect";
import { errorReason, fieldViolations } from "@billing/client";
import { NotificationOutcome, PaymentPurpose, PaymentStatus } from "@billing/proto/billing/v1/payments_pb";
import { TransactionKind } from "@billing/proto/billing/v1/wallet_pb";
import { withPg } from "@billing/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type BillingWithFake,
  countRows,
  outboxSubjects,
  paymentRow,
  RETURN_URL,
  singleAttemptClient,
  startBillingWithFake,
  waitFor,
} from "../support/payments-helpers.js";

let env: BillingWithFake;
beforeAll(async () => {
  env = await startBillingWithFake({ label: "payments" });
});
afterAll(async () => env?.close());
beforeEach(() => env.fake.clearFaults());

const bot = () => env.billing.client("admin");
const webhooks = () => env.billing.client("webhooks").payments;
const admin = () => env.billing.client("admin");
const dbUrl = () => env.billing.database.url;

async function openUser(userRef: string): Promise<void> {
  await bot().wallet.openAccount({ userRef });
}

async function credits(userRef: string): Promise<bigint> {
  return (await bot().wallet.getBalance({ userRef })).creditsAvailable;
}

async function topUp(userRef: string, key: string, packageCode = "rub_100") {
  const created = await bot().payments.createTopUp({
    userRef,
    purchase: { case: "packageCode", value: packageCode },
    idempotencyKey: key,
  });
  const payment = created.payment;
  if (payment === undefined) throw new Error("no payment");
  return { payment, confirmationUrl: created.confirmationUrl };
}

function failure(error: unknown) {
  const connect = ConnectError.from(error);
  return { code: Code[connect.code], reason: errorReason(error), fields: fieldViolations(error) };
}

describe("top-up options and creation", () => {
  it("lists the product's packages and custom bounds", async () => {
    const options = await bot().payments.listTopUpOptions({});
    expect(options.packages.map((p) => [p.packageCode, p.amountMinor, p.credits])).toEqual([
      ["rub_100", 10_000n, 100n],
      ["rub_300", 30_000n, 300n],
      ["rub_500", 50_000n, 500n],
      ["rub_1000", 100_000n, 1_000n],
    ]);
    expect(options).toMatchObject({
      customMinAmountMinor: 1_000n,
      customMaxAmountMinor: 5_000_000n,
      currency: "RUB",
      receiptRequired: false,
    });
  });

  it("creates a pending payment at YooKassa under billing's own key; a replay answers the same payment", async () => {
    const user = "telegram:2001";
    await openUser(user);
    const { payment, confirmationUrl } = await topUp(user, "create-1", "rub_300");
    expect(payment).toMatchObject({
      userRef: user,
      status: PaymentStatus.PENDING,
      purpose: PaymentPurpose.CREDITS,
      amountMinor: 30_000n,
      currency: "RUB",
      credits: 300n,
      packageCode: "rub_300",
      test: true,
    });
    const remote = env.fake.getPayment(payment.providerPaymentId);
    expect(confirmationUrl).toBe(`${env.fake.origin}/checkout/${payment.providerPaymentId}`);
    expect(remote).toMatchObject({
      status: "pending",
      amount: { value: "300.00", currency: "RUB" },
      description: "Пополнение баланса на 300 ₽",
      metadata: { billing_payment_id: payment.paymentId, user_ref: user },
      confirmation: { return_url: RETURN_URL },
    });
    const creates = env.fake.requests.filter((r) => r.endpoint === "payments.create" && r.status === 200);
    expect(creates.at(-1)?.idempotenceKey).toBe(`billing-payment-${payment.paymentId}`);

    const requestsBefore = env.fake.requests.length;
    const replay = await topUp(user, "create-1", "rub_300");
    expect(replay.payment.paymentId).toBe(payment.paymentId);
    expect(replay.confirmationUrl).toBe(confirmationUrl);
    // A replay of a created payment does not even call YooKassa.
    expect(env.fake.requests.length).toBe(requestsBefore);

    const reused = await topUp(user, "create-1", "rub_500").catch((e: unknown) => e);
    expect(failure(reused)).toMatchObject({ code: "AlreadyExists", reason: "IDEMPOTENCY_KEY_REUSED" });
    expect(await countRows(dbUrl(), "payments", `user_ref = '${user}'`)).toBe(1);
  });

  it("takes a custom amount of whole rubles within the bounds", async () => {
    const user = "telegram:2002";
    await openUser(user);
    const created = await bot().payments.createTopUp({
      userRef: user,
      purchase: { case: "amountMinor", value: 1_000n },
      idempotencyKey: "custom-1",
      returnUrl: "https://t.me/other_bot?start=paid",
    });
    expect(created.payment).toMatchObject({ amountMinor: 1_000n, credits: 10n, packageCode: "" });
    expect(env.fake.getPayment(created.payment?.providerPaymentId ?? "")?.confirmation?.return_url).toBe(
      "https://t.me/other_bot?start=paid",
    );
  });

  it("refuses bad input with the field, and stores nothing", async () => {
    const user = "telegram:2003";
    await openUser(user);
    const paymentsBefore = await countRows(dbUrl(), "payments");
    const fakeBefore = env.fake.listPayments().length;
    const attempt = (request: Parameters<ReturnType<typeof bot>["payments"]["createTopUp"]>[0]) =>
      bot()
        .payments.createTopUp(request)
        .then(() => undefined, failure);
    const base = { userRef: user, idempotencyKey: "bad-input" };
    expect(await attempt({ ...base, purchase: { case: "amountMinor", value: 999n } })).toMatchObject({
      code: "InvalidArgument",
      reason: "INVALID_FIELD",
      fields: { amount_minor: expect.stringContaining("at least 1000") },
    });
    expect(await attempt({ ...base, purchase: { case: "amountMinor", value: 5_000_001n } })).toMatchObject({
      fields: { amount_minor: expect.stringContaining("at most 5000000") },
    });
    expect(await attempt({ ...base, purchase: { case: "amountMinor", value: 1_050n } })).toMatchObject({
      fields: { amount_minor: expect.stringContaining("whole number of credits") },
    });
    expect(await attempt({ ...base, purchase: { case: "packageCode", value: "rub_200" } })).toMatchObject({
      fields: { package_code: expect.stringContaining("rub_100, rub_300, rub_500, rub_1000") },
    });
    expect(await attempt({ ...base })).toMatchObject({ fields: { package_code: expect.any(String) } });
    expect(
      await attempt({
        ...base,
        purchase: { case: "packageCode", value: "rub_100" },
        customerEmail: "not-an-email",
        customerPhone: "12345",
        returnUrl: "javascript:alert(1)",
      }),
    ).toMatchObject({
      code: "InvalidArgument",
      fields: {
        customer_email: expect.any(String),
        customer_phone: expect.any(String),
        return_url: expect.any(String),
      },
    });
    expect(await attempt({ ...base, purchase: { case: "planCode", value: "gold_year" } })).toMatchObject({
      code: "InvalidArgument",
      reason: "UNKNOWN_PLAN",
    });
    expect(
      await attempt({
        ...base,
        userRef: "telegram:never-opened",
        purchase: { case: "packageCode", value: "rub_100" },
      }),
    ).toMatchObject({ code: "NotFound", reason: "ACCOUNT_NOT_FOUND" });

    expect(await countRows(dbUrl(), "payments")).toBe(paymentsBefore);
    expect(env.fake.listPayments().length).toBe(fakeBefore);
    // The key was never used, so a good request with it now goes through.
    expect((await topUp(user, "bad-input")).payment.status).toBe(PaymentStatus.PENDING);
  });
});

describe("notifications", () => {
  it("credits once: five concurrent notifications, then one out of order; the statement shows one TOP_UP", async () => {
    const user = "telegram:2101";
    await openUser(user);
    const { payment } = await topUp(user, "notify-1");
    env.fake.pay(payment.providerPaymentId);

    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        webhooks().handleNotification({ event: "payment.succeeded", objectId: payment.providerPaymentId }),
      ),
    );
    expect(results.map((r) => NotificationOutcome[r.outcome]).sort()).toEqual([
      "APPLIED",
      "UNCHANGED",
      "UNCHANGED",
      "UNCHANGED",
      "UNCHANGED",
    ]);
    // A stale "canceled" (or "waiting_for_capture") after the success changes nothing: GET says succeeded.
    for (const event of ["payment.canceled", "payment.waiting_for_capture"]) {
      const late = await webhooks().handleNotification({ event, objectId: payment.providerPaymentId });
      expect(late.outcome).toBe(NotificationOutcome.UNCHANGED);
      expect(late.payment?.status).toBe(PaymentStatus.SUCCEEDED);
    }

    expect(await credits(user)).toBe(100n);
    const stored = await bot().payments.getPayment({ paymentId: payment.paymentId });
    expect(stored.payment).toMatchObject({ status: PaymentStatus.SUCCEEDED, confirmationUrl: "" });
    expect(stored.payment?.creditedAt).toBeDefined();
    const statement = await bot().wallet.listTransactions({ userRef: user });
    expect(
      statement.transactions.map((t) => [TransactionKind[t.kind], t.amount, t.balanceAfter, t.reference]),
    ).toEqual([
      ["TOP_UP", 100n, 100n, payment.paymentId],
      ["STARTER_GRANT", 4n, 4n, "starter free operations"],
    ]);
    expect(
      await countRows(dbUrl(), "ledger_transfers", `kind = 'TOP_UP' and reference = '${payment.paymentId}'`),
    ).toBe(1);
    expect((await outboxSubjects(dbUrl())).filter((s) => s === "billing.payment.succeeded")).toHaveLength(
      await countRows(dbUrl(), "payments", "status = 'SUCCEEDED'"),
    );
    expect(await admin().wallet.verifyLedger({})).toMatchObject({ ok: true, violations: [] });
  });

  it("a forged body changes nothing: billing asks YooKassa, which says pending; a real decline is recorded", async () => {
    const user = "telegram:2102";
    await openUser(user);
    const { payment } = await topUp(user, "forged-1");
    // The body would say succeeded; billing only passes the id on, and GET says pending.
    const forged = await webhooks().handleNotification({
      event: "payment.succeeded",
      objectId: payment.providerPaymentId,
    });
    expect(forged.outcome).toBe(NotificationOutcome.UNCHANGED);
    expect(forged.payment?.status).toBe(PaymentStatus.PENDING);
    expect(await credits(user)).toBe(0n);

    env.fake.decline(payment.providerPaymentId, "card_expired", "payment_network");
    const canceled = await webhooks().handleNotification({
      event: "payment.canceled",
      objectId: payment.providerPaymentId,
    });
    expect(canceled.outcome).toBe(NotificationOutcome.APPLIED);
    expect(canceled.payment).toMatchObject({
      status: PaymentStatus.CANCELED,
      cancellationParty: "payment_network",
      cancellationReason: "card_expired",
    });
    const again = await webhooks().handleNotification({
      event: "payment.succeeded",
      objectId: payment.providerPaymentId,
    });
    expect(again.outcome).toBe(NotificationOutcome.UNCHANGED);
    expect(await credits(user)).toBe(0n);
    expect(await outboxSubjects(dbUrl())).toContain("billing.payment.canceled");
  });

  it("ignores objects billing did not create and events it does not act on; refuses malformed ids", async () => {
    const stranger = await fetch(`${env.fake.url}payments`, {
      method: "POST",
      headers: {
        Authorization: `Basic ${Buffer.from("100500:test_payments-fake-secret").toString("base64")}`,
        "Idempotence-Key": "someone-elses-payment",
        "Content-Type": "application/json",
      },
      body: JSON.stringify({
        amount: { value: "100.00", currency: "RUB" },
        capture: true,
        confirmation: { type: "redirect", return_url: RETURN_URL },
      }),
    }).then((r) => r.json() as Promise<{ id: string }>);
    env.fake.pay(stranger.id);
    for (const objectId of [stranger.id, "2f1b8c3e-000f-5000-9000-000000000000"]) {
      const result = await webhooks().handleNotification({ event: "payment.succeeded", objectId });
      expect(result.outcome).toBe(NotificationOutcome.IGNORED);
      expect(result.payment).toBeUndefined();
    }
    const payout = await webhooks().handleNotification({ event: "payout.succeeded", objectId: "po-1" });
    expect(payout.outcome).toBe(NotificationOutcome.IGNORED);
    const bad = await webhooks()
      .handleNotification({ event: "payment.succeeded", objectId: "../../etc/passwd" })
      .catch(failure);
    expect(bad).toMatchObject({ code: "InvalidArgument", fields: { object_id: expect.any(String) } });
    expect(await countRows(dbUrl(), "payments", `provider_payment_id = '${stranger.id}'`)).toBe(0);
  });

  it("answers UNAVAILABLE while YooKassa's GET fails, and applies the payment once it answers", async () => {
    const user = "telegram:2103";
    await openUser(user);
    const { payment } = await topUp(user, "get-fails-1");
    env.fake.pay(payment.providerPaymentId);
    env.fake.injectFault("payments.get", { type: "server_error" }, 4);
    const once = singleAttemptClient(env.billing, "webhooks");
    const down = await once.payments
      .handleNotification({ event: "payment.succeeded", objectId: payment.providerPaymentId })
      .catch(failure)
      .finally(() => once.close());
    expect(down).toMatchObject({ code: "Unavailable", reason: "PROVIDER_UNAVAILABLE" });
    expect(await credits(user)).toBe(0n);
    const back = await webhooks().handleNotification({
      event: "payment.succeeded",
      objectId: payment.providerPaymentId,
    });
    expect(back.outcome).toBe(NotificationOutcome.APPLIED);
    expect(await credits(user)).toBe(100n);
  });

  it("refuses to credit a payment whose amount disagrees with YooKassa's (PAYMENT_MISMATCH)", async () => {
    const user = "telegram:2104";
    await openUser(user);
    const { payment } = await topUp(user, "mismatch-1");
    // Billing's row says 500 RUB for 500 credits; YooKassa's payment is 100 RUB.
    await withPg(dbUrl(), (pg) =>
      pg.query(`update payments set amount_minor = 50000, credits = 500 where id = $1`, [payment.paymentId]),
    );
    env.fake.pay(payment.providerPaymentId);
    const refused = await webhooks()
      .handleNotification({ event: "payment.succeeded", objectId: payment.providerPaymentId })
      .catch(failure);
    expect(refused).toMatchObject({ code: "FailedPrecondition", reason: "PAYMENT_MISMATCH" });
    expect(await credits(user)).toBe(0n);
    expect((await paymentRow(dbUrl(), payment.paymentId))?.["status"]).toBe("PENDING");
    // Put it right again so the ledger stays verifiable for the other tests.
    await withPg(dbUrl(), (pg) =>
      pg.query(`update payments set amount_minor = 10000, credits = 100 where id = $1`, [payment.paymentId]),
    );
    const synced = await admin().payments.syncPayment({ paymentId: payment.paymentId });
    expect(synced.outcome).toBe(NotificationOutcome.APPLIED);
    expect(await credits(user)).toBe(100n);
  });
});

describe("YooKassa failing on create", () => {
  it("500, 202 and a timeout are retried under the same Idempotence-Key: one payment at YooKassa", async () => {
    const user = "telegram:2201";
    await openUser(user);
    env.fake.injectFault("payments.create", { type: "server_error" });
    env.fake.injectFault("payments.create", { type: "processing", retryAfterMs: 10 });
    env.fake.injectFault("payments.create", { type: "delay", delayMs: 1_500 });
    const fakeBefore = env.fake.listPayments().length;
    const requestsBefore = env.fake.requests.length;
    const { payment } = await topUp(user, "faults-1");
    expect(payment.status).toBe(PaymentStatus.PENDING);
    // The slow answer is logged when the fake finally sends it, after the retry that replaced it.
    const creates = await waitFor("four create attempts", () => {
      const seen = env.fake.requests.slice(requestsBefore).filter((r) => r.endpoint === "payments.create");
      return Promise.resolve(seen.length === 4 ? seen : undefined);
    });
    expect(creates.map((r) => r.fault ?? r.status).sort()).toEqual([
      200,
      "delay",
      "processing",
      "server_error",
    ]);
    expect(new Set(creates.map((r) => r.idempotenceKey))).toEqual(
      new Set([`billing-payment-${payment.paymentId}`]),
    );
    expect(env.fake.listPayments().length).toBe(fakeBefore + 1);
  });

  it("a create performed at YooKassa whose answers never arrive: UNAVAILABLE, then the replay resumes it under the same key", async () => {
    const user = "telegram:2202";
    await openUser(user);
    env.fake.injectFault("payments.create", { type: "drop_connection", performed: true }, 4);
    const fakeBefore = env.fake.listPayments().length;
    const once = singleAttemptClient(env.billing, "admin");
    const lost = await once.payments
      .createTopUp({
        userRef: user,
        purchase: { case: "packageCode", value: "rub_100" },
        idempotencyKey: "lost-answer-1",
      })
      .catch(failure)
      .finally(() => once.close());
    expect(lost).toMatchObject({ code: "Unavailable", reason: "PROVIDER_UNAVAILABLE" });
    const [row] = await withPg(
      dbUrl(),
      async (pg) =>
        (
          await pg.query<Record<string, unknown>>(
            `select id, status, provider_payment_id from payments where request_key = 'lost-answer-1'`,
          )
        ).rows,
    );
    expect(row).toMatchObject({ status: "CREATING", provider_payment_id: null });
    expect(env.fake.listPayments().length).toBe(fakeBefore + 1);

    const { payment } = await topUp(user, "lost-answer-1");
    expect(payment).toMatchObject({ paymentId: row?.["id"], status: PaymentStatus.PENDING });
    expect(env.fake.listPayments().length).toBe(fakeBefore + 1);
    const keys = env.fake.requests.filter(
      (r) => r.endpoint === "payments.create" && r.idempotenceKey?.includes(payment.paymentId),
    );
    expect(keys).toHaveLength(5);
    expect(keys.at(-1)).toMatchObject({ status: 200, replayed: true });
  });

  it("a notification about a payment whose create answer was lost finds it by its metadata", async () => {
    const user = "telegram:2204";
    await openUser(user);
    env.fake.injectFault("payments.create", { type: "drop_connection", performed: true }, 4);
    const once = singleAttemptClient(env.billing, "admin");
    await once.payments
      .createTopUp({
        userRef: user,
        purchase: { case: "packageCode", value: "rub_100" },
        idempotencyKey: "lost-then-notified-1",
      })
      .catch(() => undefined)
      .finally(() => once.close());
    const remote = env.fake.listPayments().find((p) => p.metadata["user_ref"] === user);
    if (remote === undefined) throw new Error("the fake should have performed the create");
    env.fake.pay(remote.id);
    const notified = await webhooks().handleNotification({ event: "payment.succeeded", objectId: remote.id });
    expect(notified.outcome).toBe(NotificationOutcome.APPLIED);
    expect(notified.payment).toMatchObject({ providerPaymentId: remote.id, status: PaymentStatus.SUCCEEDED });
    expect(await credits(user)).toBe(100n);
    // The caller's replay now answers the settled payment without creating anything.
    expect((await topUp(user, "lost-then-notified-1")).payment.status).toBe(PaymentStatus.SUCCEEDED);
    expect(env.fake.listPayments().filter((p) => p.metadata["user_ref"] === user)).toHaveLength(1);
  });

  it("a refusal from YooKassa cancels the payment; the replay answers the same refusal", async () => {
    const user = "telegram:2203";
    await openUser(user);
    env.fake.injectFault("payments.create", {
      type: "error",
      status: 403,
      code: "forbidden",
      description: "The shop may not accept payments",
    });
    const refused = await topUp(user, "refused-1").catch(failure);
    expect(refused).toMatchObject({ code: "FailedPrecondition", reason: "PROVIDER_REJECTED" });
    const replay = await topUp(user, "refused-1").catch(failure);
    expect(replay).toMatchObject({ code: "FailedPrecondition", reason: "PROVIDER_REJECTED" });
    const [row] = await withPg(
      dbUrl(),
      async (pg) =>
        (
          await pg.query<Record<string, unknown>>(
            `select status, cancellation_party, cancellation_reason from payments where request_key = 'refused-1'`,
          )
        ).rows,
    );
    expect(row).toEqual({
      status: "CANCELED",
      cancellation_party: "billing",
      cancellation_reason: "provider_rejected:forbidden",
    });
  });
});

describe("reading and operating", () => {
  it("lists a user's payments newest first, in pages; unknown ids are NOT_FOUND", async () => {
    const user = "telegram:2301";
    await openUser(user);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await topUp(user, `list-${i}`)).payment.paymentId);
    const first = await bot().payments.listPayments({ userRef: user, pageSize: 2 });
    const second = await bot().payments.listPayments({
      userRef: user,
      pageSize: 2,
      pageToken: first.nextPageToken,
    });
    const third = await bot().payments.listPayments({
      userRef: user,
      pageSize: 2,
      pageToken: second.nextPageToken,
    });
    expect([...first.payments, ...second.payments, ...third.payments].map((p) => p.paymentId)).toEqual(
      ids.reverse(),
    );
    expect(third.nextPageToken).toBe("");
    const missing = await bot()
      .payments.getPayment({ paymentId: "00000000-0000-4000-8000-000000000000" })
      .catch(failure);
    expect(missing).toMatchObject({ code: "NotFound", reason: "PAYMENT_NOT_FOUND" });
  });

  it("SyncPayment recovers a payment whose notification never came", async () => {
    const user = "telegram:2302";
    await openUser(user);
    const { payment } = await topUp(user, "sync-1");
    env.fake.pay(payment.providerPaymentId);
    const synced = await admin().payments.syncPayment({ paymentId: payment.paymentId });
    expect(synced).toMatchObject({
      outcome: NotificationOutcome.APPLIED,
      payment: { status: PaymentStatus.SUCCEEDED },
    });
    const again = await admin().payments.syncPayment({ paymentId: payment.paymentId });
    expect(again.outcome).toBe(NotificationOutcome.UNCHANGED);
    expect(await credits(user)).toBe(100n);
    const denied = await env.billing
      .client("bot")
      .payments.syncPayment({ paymentId: payment.paymentId })
      .catch(failure);
    expect(denied).toMatchObject({ code: "PermissionDenied" });
  });

  it("buys a plan of the catalogue: activated once for a month even with duplicate notifications, no credits", async () => {
    const user = "telegram:2303";
    await openUser(user);
    const created = await bot().payments.createTopUp({
      userRef: user,
      purchase: { case: "planCode", value: "pro_month" },
      idempotencyKey: "plan-1",
    });
    expect(created.payment).toMatchObject({
      purpose: PaymentPurpose.PLAN,
      planCode: "pro_month",
      amountMinor: 99_000n,
      credits: 0n,
    });
    const providerId = created.payment?.providerPaymentId ?? "";
    env.fake.pay(providerId);
    const before = Date.now();
    await Promise.all(
      [1, 2, 3].map(() =>
        webhooks().handleNotification({ event: "payment.succeeded", objectId: providerId }),
      ),
    );
    const quota = await admin().quotas.getQuota({ userRef: user });
    expect(quota.planCode).toBe("pro_month");
    const untilMs = Number(quota.planUntil?.seconds ?? 0n) * 1000;
    expect(untilMs).toBeGreaterThan(before + 27 * 86_400_000);
    expect(untilMs).toBeLessThan(before + 32 * 86_400_000);
    expect(quota.metrics.find((m) => m.metric === "chat_tokens")?.limit).toBe(10_000n);
    const activations = await withPg(dbUrl(), (pg) =>
      pg.query(`select 1 from quota_plan_activations where payment_id = $1`, [created.payment?.paymentId]),
    );
    expect(activations.rowCount).toBe(1);
    expect((await outboxSubjects(dbUrl())).filter((s) => s === "billing.plan.activated")).toHaveLength(1);
    expect(await credits(user)).toBe(0n);
    expect(await admin().wallet.verifyLedger({})).toMatchObject({ ok: true });
  });

  it("VerifyLedger reports a succeeded top-up whose credit does not match", async () => {
    const user = "telegram:2304";
    await openUser(user);
    const { payment } = await topUp(user, "verify-1");
    env.fake.pay(payment.providerPaymentId);
    await webhooks().handleNotification({ event: "payment.succeeded", objectId: payment.providerPaymentId });
    expect(await admin().wallet.verifyLedger({})).toMatchObject({ ok: true });
    await withPg(dbUrl(), (pg) =>
      pg.query(`update payments set credits = 99 where id = $1`, [payment.paymentId]),
    );
    const report = await admin().wallet.verifyLedger({});
    expect(report.ok).toBe(false);
    expect(report.violations).toEqual([
      expect.objectContaining({ invariant: "payment_credited_once", subject: payment.paymentId }),
    ]);
    await withPg(dbUrl(), (pg) =>
      pg.query(`update payments set credits = 100 where id = $1`, [payment.paymentId]),
    );
    expect(await admin().wallet.verifyLedger({})).toMatchObject({ ok: true });
  });
});
