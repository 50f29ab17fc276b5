// activatePlan, the function the payment flow calls inside a payment's transaction: once per payment
// id, renewals extend from the current end, a planActivated event in the outbox, and nothing at all
// if the payment's transaction rolls back.
import { fromBinary } from "@bufbuild/protobuf";
import { BillingEventSchema } from "@billing/proto/events/v1/billing_pb";
import { withPg } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EntityManager } from "../../src/db/database.js";
import { unitOfWork } from "../../src/db/unit-of-work.js";
import { DomainError } from "../../src/domain/errors.js";
import type { PlanActivation } from "../../src/quotas/index.js";
import { ManualClock, startTestBilling, type TestBilling } from "../support/helpers.js";
import { iso } from "../support/quota-helpers.js";

describe("activatePlan (payment flow)", () => {
  const clock = new ManualClock();
  let billing: TestBilling;
  beforeAll(async () => {
    billing = await startTestBilling({ label: "quota_activation", clock });
  });
  afterAll(async () => billing?.close());

  const now = new Date("2026-11-22T10:00:00Z");
  /** A payment's transaction that activates a plan, as the payments engineer will write it. */
  const pay = (
    userRef: string,
    paymentId: string,
    at = now,
    planCode = "pro_month",
  ): Promise<PlanActivation> => {
    const { db, quotas } = billing.server.context();
    return db.transaction((tx) =>
      quotas.activatePlan(unitOfWork(tx), { userRef, planCode, paymentId, now: at }),
    );
  };
  const activations = (userRef: string) =>
    withPg(billing.database.url, async (pg) => {
      const { rows } = await pg.query<{
        payment_id: string;
        until: Date | null;
        previous_until: Date | null;
      }>(
        "select payment_id, until, previous_until from quota_plan_activations where user_ref = $1 order by until",
        [userRef],
      );
      return rows.map((r) => [
        r.payment_id,
        r.previous_until?.toISOString() ?? null,
        r.until?.toISOString() ?? null,
      ]);
    });
  const events = (userRef: string) =>
    withPg(billing.database.url, async (pg) => {
      const { rows } = await pg.query<{ subject: string; payload: Buffer }>(
        "select subject, payload from outbox_events where subject = 'billing.plan.activated' order by id",
      );
      return rows
        .map((row) => ({ subject: row.subject, event: fromBinary(BillingEventSchema, row.payload) }))
        .filter(({ event }) => event.userRef === userRef)
        .map(({ subject, event }) => {
          if (event.payload.case !== "planActivated") throw new Error("not a planActivated event");
          const { planCode, paymentId, until } = event.payload.value;
          return { subject, planCode, paymentId, until: iso(until) };
        });
    });
  const planOf = async (userRef: string) => {
    const report = await billing.client("service").quotas.getQuota({ userRef });
    return [report.planCode, iso(report.planUntil)];
  };

  it("puts the user on the plan for one calendar month, once per payment id even if called twice", async () => {
    clock.current = now;
    const user = "tg:buyer";
    const first = await pay(user, "pay-1");
    expect(first).toEqual({
      activated: true,
      userRef: user,
      planCode: "pro_month",
      paymentId: "pay-1",
      previousUntil: undefined,
      until: new Date("2026-12-22T10:00:00Z"),
    });
    const second = await pay(user, "pay-1", new Date("2026-11-23T10:00:00Z"));
    expect(second).toEqual({ ...first, activated: false });

    expect(await planOf(user)).toEqual(["pro_month", "2026-12-22T10:00:00.000Z"]);
    expect(await activations(user)).toEqual([["pay-1", null, "2026-12-22T10:00:00.000Z"]]);
    expect(await events(user)).toEqual([
      {
        subject: "billing.plan.activated",
        planCode: "pro_month",
        paymentId: "pay-1",
        until: "2026-12-22T10:00:00.000Z",
      },
    ]);
    // The plan's quotas apply at once.
    const quota = await billing.client("service").quotas.getQuota({ userRef: user });
    expect(quota.metrics.map((m) => [m.metric, m.limit])).toEqual([
      ["chat_tokens", 10_000n],
      ["tpl_run", 200n],
    ]);
  });

  it("is idempotent within one transaction too", async () => {
    const user = "tg:double";
    const { db, quotas } = billing.server.context();
    const [a, b] = await db.transaction(async (tx: EntityManager) => {
      const command = { userRef: user, planCode: "pro_month", paymentId: "pay-double", now };
      return [
        await quotas.activatePlan(unitOfWork(tx), command),
        await quotas.activatePlan(unitOfWork(tx), command),
      ];
    });
    expect([a?.activated, b?.activated, b?.until]).toEqual([true, false, a?.until]);
    expect(await activations(user)).toHaveLength(1);
    expect(await events(user)).toHaveLength(1);
  });

  it("extends from the current end when the same plan is renewed, and from now once it ended", async () => {
    clock.current = now;
    const user = "tg:renewer";
    await pay(user, "pay-r1"); // until 22 December
    const renewal = await pay(user, "pay-r2", new Date("2026-12-01T08:00:00Z"));
    expect([renewal.previousUntil?.toISOString(), renewal.until?.toISOString()]).toEqual([
      "2026-12-22T10:00:00.000Z",
      "2027-01-22T10:00:00.000Z",
    ]);
    expect(await planOf(user)).toEqual(["pro_month", "2027-01-22T10:00:00.000Z"]);

    // Bought again after it ended: one month from the purchase.
    const late = new Date("2027-03-31T09:00:00Z"); // 31 March, 12:00 in Moscow
    const again = await pay(user, "pay-r3", late);
    expect([again.previousUntil, again.until?.toISOString()]).toEqual([
      undefined,
      "2027-04-30T09:00:00.000Z",
    ]);
    expect(await activations(user)).toEqual([
      ["pay-r1", null, "2026-12-22T10:00:00.000Z"],
      ["pay-r2", "2026-12-22T10:00:00.000Z", "2027-01-22T10:00:00.000Z"],
      ["pay-r3", null, "2027-04-30T09:00:00.000Z"],
    ]);
    expect((await events(user)).map((e) => e.paymentId)).toEqual(["pay-r1", "pay-r2", "pay-r3"]);
  });

  it("replaces a different plan set by an admin, starting now", async () => {
    clock.current = now;
    const user = "tg:switcher";
    await billing.client("admin").quotas.setPlan({ userRef: user, planCode: "free" });
    const bought = await pay(user, "pay-s1");
    expect([bought.previousUntil, bought.until?.toISOString()]).toEqual([
      undefined,
      "2026-12-22T10:00:00.000Z",
    ]);
    expect(await planOf(user)).toEqual(["pro_month", "2026-12-22T10:00:00.000Z"]);
  });

  it("applies concurrent payments once each: the same payment once, different payments one after another", async () => {
    clock.current = now;
    const user = "tg:racer";
    const same = await Promise.all(Array.from({ length: 10 }, () => pay(user, "pay-c0")));
    expect(same.filter((a) => a.activated)).toHaveLength(1);
    expect(new Set(same.map((a) => a.until?.toISOString()))).toEqual(new Set(["2026-12-22T10:00:00.000Z"]));

    const others = await Promise.all([1, 2, 3, 4].map((i) => pay(user, `pay-c${i}`)));
    expect(others.every((a) => a.activated)).toBe(true);
    // Each extended the end left by the one before it: four more months.
    expect(await planOf(user)).toEqual(["pro_month", "2027-04-22T10:00:00.000Z"]);
    expect(await activations(user)).toHaveLength(5);
    expect(await events(user)).toHaveLength(5);
  });

  it("leaves nothing behind when the payment's transaction rolls back", async () => {
    const user = "tg:rollback";
    const { db, quotas } = billing.server.context();
    await expect(
      db.transaction(async (tx) => {
        await quotas.activatePlan(unitOfWork(tx), {
          userRef: user,
          planCode: "pro_month",
          paymentId: "pay-rb",
          now,
        });
        throw new Error("the payment failed after the activation");
      }),
    ).rejects.toThrow(/payment failed/);
    expect(await planOf(user)).toEqual(["free", undefined]);
    expect(await activations(user)).toEqual([]);
    expect(await events(user)).toEqual([]);
  });

  it("refuses plans that are not sold by period, and one payment for two users", async () => {
    for (const planCode of ["free", "gold"]) {
      const error = await pay("tg:nope", `pay-${planCode}`, now, planCode).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).reason).toBe("UNKNOWN_PLAN");
    }
    await pay("tg:first", "pay-shared");
    await expect(pay("tg:second", "pay-shared")).rejects.toThrow(
      /already activated pro_month for another user/,
    );
    expect(await planOf("tg:second")).toEqual(["free", undefined]);
  });
});
