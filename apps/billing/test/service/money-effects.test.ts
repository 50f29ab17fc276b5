// Billing's domain counters and audit log through a real server, PostgreSQL and the YooKassa fake:
// every money effect is counted once and written as one audit line — replays, refusals and
// concurrent twins add nothing — and no line carries a token, a secret or an idempotency key.
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idempotencyKeyHash } from "../../src/observability/audit.js";
import { startTestBilling, type TestBilling } from "../support/helpers.js";
import { fakeEnv, SECRET_KEY } from "../support/payments-helpers.js";
import { type FakeYooKassa, metricValue, startFakeYooKassa } from "@billing/testkit";

let billing: TestBilling;
let fake: FakeYooKassa;
const lines: string[] = [];

beforeAll(async () => {
  fake = await startFakeYooKassa({ shopId: "100500", secretKey: SECRET_KEY, notificationRetryDelaysMs: [] });
  billing = await startTestBilling({
    label: "money_effects",
    env: { ...fakeEnv(fake), LOG_LEVEL: "info" },
    logDestination: { write: (line) => void lines.push(line) },
  });
});
afterAll(async () => {
  await billing?.close();
  await fake?.close();
});

const bot = () => billing.client("bot");
// Charge and Refund belong to operators and services only (least privilege): not to the bot.
const admin = () => billing.client("admin");

interface AuditLine {
  kind: string;
  user_ref: string;
  amount: string;
  unit: string;
  transfer_id?: string;
  hold_id?: string;
  payment_id?: string;
  idempotency_key_hash?: string;
  scope: string;
  operation?: string;
  funded_by?: string;
}

function auditLines(userRef: string): AuditLine[] {
  return lines
    .map((line) => JSON.parse(line) as { component?: string; msg?: string } & AuditLine)
    .filter((line) => line.component === "audit" && line.user_ref === userRef);
}

/** The value of one series of billing's /metrics (0 when absent). */
function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(billing.metricsUrl, name, labels);
}

async function failureCode(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return Code[ConnectError.from(error).code];
  }
  throw new Error("expected the call to fail");
}

describe("money effects", () => {
  it("counts a charge, a hold's commit, a refund and a grant once each, whatever is replayed", async () => {
    const userRef = "telegram:7001";
    const before = {
      charges: await metric("billing_charges_total", { operation: "generate", funded_by: "FREE_OPERATION" }),
      free: await metric("billing_free_operations_used_total", { operation: "generate" }),
      posted: await metric("billing_hold_resolutions_total", { operation: "edit", outcome: "posted" }),
      spent: await metric("billing_credits_spent_total", { operation: "edit" }),
      generations: await metric("billing_generations_total"),
      refunds: await metric("billing_refunds_total", { kind: "charge" }),
      grants: await metric("billing_granted_amount_total", { unit: "credits" }),
    };
    await bot().wallet.openAccount({ userRef });
    await bot().wallet.openAccount({ userRef });
    const charge = { userRef, operation: "generate", idempotencyKey: "charge-7001", reference: "job-a" };
    // Three concurrent twins and a later replay: one charge.
    const charged = await Promise.all([1, 2, 3].map(() => admin().wallet.charge(charge)));
    await admin().wallet.charge(charge);
    expect(new Set(charged.map((c) => c.transferId)).size).toBe(1);

    await billing.client("admin").wallet.grant({
      userRef,
      amountCredits: 50n,
      reason: "support",
      idempotencyKey: "grant-7001",
    });
    await billing.client("admin").wallet.grant({
      userRef,
      amountCredits: 50n,
      reason: "support",
      idempotencyKey: "grant-7001",
    });
    // Spend the three free operations left, then a paid hold, committed twice.
    for (const n of [1, 2, 3]) {
      await admin().wallet.charge({ ...charge, idempotencyKey: `free-${n}`, reference: `free-${n}` });
    }
    const hold = await bot().wallet.reserve({
      userRef,
      operation: "edit",
      idempotencyKey: "hold-7001",
      jobId: "j1",
    });
    const holdId = hold.hold?.holdId ?? "";
    await billing.client("worker").wallet.commit({ holdId });
    await billing.client("worker").wallet.commit({ holdId });
    expect(
      await failureCode(admin().wallet.charge({ ...charge, idempotencyKey: "charge-7001", reference: "x" })),
    ).toBe("AlreadyExists");
    await admin().wallet.refund({
      target: { case: "holdId", value: holdId },
      reason: "bad",
      idempotencyKey: "rf-1",
    });
    await admin().wallet.refund({
      target: { case: "holdId", value: holdId },
      reason: "bad",
      idempotencyKey: "rf-1",
    });

    expect(
      await metric("billing_charges_total", { operation: "generate", funded_by: "FREE_OPERATION" }),
    ).toBe(before.charges + 4);
    expect(await metric("billing_free_operations_used_total", { operation: "generate" })).toBe(
      before.free + 4,
    );
    expect(await metric("billing_hold_resolutions_total", { operation: "edit", outcome: "posted" })).toBe(
      before.posted + 1,
    );
    expect(await metric("billing_credits_spent_total", { operation: "edit" })).toBe(before.spent + 10);
    expect(await metric("billing_generations_total")).toBe(before.generations + 5);
    expect(await metric("billing_refunds_total", { kind: "charge" })).toBe(before.refunds + 1);
    expect(await metric("billing_granted_amount_total", { unit: "credits" })).toBe(before.grants + 50);

    const audit = auditLines(userRef);
    expect(audit.map((line) => line.kind)).toEqual([
      "starter_grant",
      "charge",
      "grant",
      "charge",
      "charge",
      "charge",
      "hold",
      "hold_posted",
      "refund",
    ]);
    expect(audit[1]).toMatchObject({
      amount: "1",
      unit: "free_operations",
      operation: "generate",
      funded_by: "FREE_OPERATION",
      transfer_id: charged[0]?.transferId,
      idempotency_key_hash: idempotencyKeyHash("charge-7001"),
      scope: "admin",
    });
    expect(audit[2]).toMatchObject({ amount: "50", unit: "credits", scope: "admin" });
    expect(audit[7]).toMatchObject({
      kind: "hold_posted",
      amount: "10",
      unit: "credits",
      hold_id: holdId,
      scope: "worker",
    });
    expect(audit[6]).toMatchObject({ kind: "hold", hold_id: holdId, scope: "bot" });
    expect(audit[8]).toMatchObject({ amount: "10", unit: "credits", hold_id: holdId, scope: "admin" });
    expect(audit[8]?.transfer_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("counts a top-up created and succeeded in count and kopecks, once for many notifications", async () => {
    const userRef = "telegram:7002";
    const created = () => metric("billing_payments_kopecks_total", { event: "created" });
    const succeeded = () => metric("billing_payments_kopecks_total", { event: "succeeded" });
    const [createdBefore, succeededBefore] = [await created(), await succeeded()];
    await bot().wallet.openAccount({ userRef });
    const topUp = await bot().payments.createTopUp({
      userRef,
      purchase: { case: "packageCode", value: "rub_300" },
      idempotencyKey: "topup-7002",
    });
    const payment = topUp.payment;
    if (payment === undefined) throw new Error("no payment");
    fake.pay(payment.providerPaymentId);
    const webhooks = billing.client("webhooks").payments;
    await Promise.all(
      [1, 2, 3].map(() =>
        webhooks.handleNotification({ event: "payment.succeeded", objectId: payment.providerPaymentId }),
      ),
    );
    expect(await created()).toBe(createdBefore + 30_000);
    expect(await succeeded()).toBe(succeededBefore + 30_000);
    expect(await metric("billing_payments_total", { event: "succeeded" })).toBe(1);

    const audit = auditLines(userRef);
    expect(audit.map((line) => [line.kind, line.amount, line.unit, line.scope])).toEqual([
      ["starter_grant", "4", "free_operations", "bot"],
      ["payment_created", "30000", "kopecks", "bot"],
      ["payment_succeeded", "30000", "kopecks", "webhooks"],
    ]);
    expect(audit[2]).toMatchObject({ payment_id: payment.paymentId });
    expect(audit[2]?.transfer_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("counts quota debits ok and exceeded by metric and plan, and an expired hold", async () => {
    const userRef = "svc:7003";
    const service = billing.client("service").quotas;
    const ok = () => metric("billing_quota_debits_total", { metric: "tpl_run", plan: "free", result: "ok" });
    const exceeded = () =>
      metric("billing_quota_debits_total", { metric: "tpl_run", plan: "free", result: "exceeded" });
    const [okBefore, exceededBefore] = [await ok(), await exceeded()];
    await service.consumeQuota({ userRef, metric: "tpl_run", units: 20n, ref: "run-1" });
    await service.consumeQuota({ userRef, metric: "tpl_run", units: 20n, ref: "run-1" });
    expect(
      await failureCode(service.consumeQuota({ userRef, metric: "tpl_run", units: 1n, ref: "run-2" })),
    ).toBe("ResourceExhausted");
    expect(await ok()).toBe(okBefore + 1);
    expect(await exceeded()).toBe(exceededBefore + 1);
    expect(auditLines(userRef).map((l) => [l.kind, l.amount, l.unit])).toEqual([
      ["quota_debit", "20", "units"],
    ]);

    const expiredBefore = await metric("billing_hold_resolutions_total", { outcome: "expired" });
    await bot().wallet.openAccount({ userRef: "telegram:7004" });
    await bot().wallet.reserve({
      userRef: "telegram:7004",
      operation: "generate",
      idempotencyKey: "expiring",
      jobId: "j",
      timeout: { seconds: 1n },
    });
    await expect
      .poll(() => metric("billing_hold_resolutions_total", { outcome: "expired" }), { timeout: 10_000 })
      .toBe(expiredBefore + 1);
    expect(auditLines("telegram:7004").at(-1)).toMatchObject({ kind: "hold_expired", scope: "system" });
  });

  it("never writes a token, a secret or a raw idempotency key into the log", () => {
    const everything = lines.join("\n");
    expect(lines.length).toBeGreaterThan(10);
    for (const token of Object.values(billing.tokens)) expect(everything).not.toContain(token);
    expect(everything).not.toContain(SECRET_KEY);
    for (const key of ["charge-7001", "grant-7001", "hold-7001", "topup-7002"]) {
      expect(everything).not.toContain(`"${key}"`);
    }
  });
});
