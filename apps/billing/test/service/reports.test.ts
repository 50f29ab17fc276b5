// ReportService through a real server, PostgreSQL and the YooKassa fake, on a clock the test moves:
// every product figure of a scripted day is exactly what the script implies, the next day starts
// from zero while the month keeps counting, and only admins may read them.
import { Code, ConnectError } from "@connectrpc/connect";
import { fieldViolations } from "@billing/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../support/helpers.js";
import { type BillingWithFake, startBillingWithFake } from "../support/payments-helpers.js";

let env: BillingWithFake;
// 13:00 in Moscow (billing's default time zone) on 2026-11-22.
const clock = new ManualClock(new Date("2026-11-22T10:00:00Z"));

beforeAll(async () => {
  env = await startBillingWithFake({ label: "reports", clock });
});
afterAll(async () => env?.close());

const bot = () => env.billing.client("bot").wallet;
const admin = () => env.billing.client("admin");
const report = (day: string) => admin().reports.getProductReport({ day });

async function topUp(userRef: string, pay: boolean): Promise<void> {
  await bot().openAccount({ userRef });
  const created = await env.billing.client("bot").payments.createTopUp({
    userRef,
    purchase: { case: "packageCode", value: "rub_100" },
    idempotencyKey: `t-${userRef}`,
  });
  const payment = created.payment;
  if (payment === undefined || !pay) return;
  env.fake.pay(payment.providerPaymentId);
  await env.billing
    .client("webhooks")
    .payments.handleNotification({ event: "payment.succeeded", objectId: payment.providerPaymentId });
}

async function script(): Promise<void> {
  // A: four free generations, a refusal (no funds: nothing happened), a grant, one paid generation.
  await bot().openAccount({ userRef: "telegram:1" });
  for (let i = 1; i <= 4; i++) {
    await admin().wallet.charge({
      userRef: "telegram:1",
      operation: "generate",
      idempotencyKey: `a-${i}`,
      reference: `a-${i}`,
    });
  }
  await expect(
    admin().wallet.charge({
      userRef: "telegram:1",
      operation: "generate",
      idempotencyKey: "a-5",
      reference: "a-5",
    }),
  ).rejects.toThrow(/costs 10 credits/);
  await admin().wallet.grant({
    userRef: "telegram:1",
    amountCredits: 100n,
    reason: "promo",
    idempotencyKey: "g-1",
  });
  await admin().wallet.charge({
    userRef: "telegram:1",
    operation: "generate",
    idempotencyKey: "a-6",
    reference: "a-6",
  });
  // B: a job committed 1.5 s after its hold, and a job released (not a generation).
  await bot().openAccount({ userRef: "telegram:2" });
  const held = await bot().reserve({
    userRef: "telegram:2",
    operation: "edit",
    idempotencyKey: "b-1",
    jobId: "job-1",
  });
  clock.advance(1_500);
  await env.billing.client("worker").wallet.commit({ holdId: held.hold?.holdId ?? "" });
  const released = await bot().reserve({
    userRef: "telegram:2",
    operation: "generate",
    idempotencyKey: "b-2",
    jobId: "job-2",
  });
  await env.billing
    .client("worker")
    .wallet.release({ holdId: released.hold?.holdId ?? "", reason: "provider failed" });
  // C pays a top-up; D opens one and walks away; E only opens an account (not active).
  await topUp("telegram:3", true);
  await topUp("telegram:4", false);
  await bot().openAccount({ userRef: "telegram:5" });
}

describe("GetProductReport", () => {
  it("answers the exact figures of a scripted day, then of the next day within the same month", async () => {
    await script();
    const day1 = await report("2026-11-22");
    expect(day1).toMatchObject({
      day: "2026-11-22",
      timeZone: "Europe/Moscow",
      dailyActiveUsers: 4n,
      monthlyActiveUsers: 4n,
      generationsTotal: 6n,
      paidGenerations: 1n,
      creditsSpent: 10n,
      usersOpenedTopUp: 2n,
      usersPaid: 1n,
      jobsCommitted: 1n,
      jobTimeMeanMs: 1_500n,
    });
    expect(
      day1.generations.map((g) => [g.operation, g.generations, g.paidGenerations, g.creditsSpent]),
    ).toEqual([
      ["edit", 1n, 0n, 0n],
      ["generate", 5n, 1n, 10n],
    ]);

    // 22:30 in Moscow is still the 22nd; 21:30 UTC is already the 23rd there.
    clock.current = new Date("2026-11-22T21:30:00Z");
    await admin().wallet.charge({
      userRef: "telegram:1",
      operation: "generate",
      idempotencyKey: "a-7",
      reference: "a-7",
    });
    const day2 = await report("2026-11-23");
    expect(day2).toMatchObject({
      dailyActiveUsers: 1n,
      monthlyActiveUsers: 4n,
      generationsTotal: 1n,
      paidGenerations: 1n,
      creditsSpent: 10n,
      usersOpenedTopUp: 2n,
      usersPaid: 1n,
      jobsCommitted: 0n,
      jobTimeMeanMs: 0n,
    });
    expect((await report("2026-11-22")).generationsTotal).toBe(6n);
    // December starts empty.
    expect(await report("2026-12-01")).toMatchObject({
      monthlyActiveUsers: 0n,
      usersOpenedTopUp: 0n,
      generations: [],
    });
  });

  it("is for admins only, and refuses a day that is not a date", async () => {
    const denied = await env.billing
      .client("bot")
      .reports.getProductReport({ day: "2026-11-22" })
      .catch((e: unknown) => ConnectError.from(e));
    expect(denied).toBeInstanceOf(ConnectError);
    expect((denied as ConnectError).code).toBe(Code.PermissionDenied);
    for (const day of [
      "",
      "2026-02-30",
      "22-11-2026",
      "1999-12-31",
      "2026-11-22'; drop table payments; --",
    ]) {
      const refused = await report(day).catch((e: unknown) => e);
      expect(ConnectError.from(refused).code, day).toBe(Code.InvalidArgument);
      expect(Object.keys(fieldViolations(refused)), day).toEqual(["day"]);
    }
  });
});
