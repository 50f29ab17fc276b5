// QuotaService over gRPC with the typed client, against a real billing server and PostgreSQL, with a
// clock the tests move across day and month boundaries (Europe/Moscow by default, Europe/Berlin for
// DST). Each test uses its own user_ref.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { QuotaWindow } from "@billing/proto/billing/v1/quotas_pb";
import { HealthCheckResponse_ServingStatus as Status } from "@billing/proto/grpc/health/v1/health_pb";
import { metricValue } from "@billing/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ManualClock, startTestBilling, type TestBilling } from "../support/helpers.js";
import { failure, iso, storedCounters } from "../support/quota-helpers.js";

const run = promisify(execFile);
const HOUR_MS = 3_600_000;

describe("QuotaService (Europe/Moscow)", () => {
  const clock = new ManualClock();
  let billing: TestBilling;
  beforeAll(async () => {
    billing = await startTestBilling({ label: "quotas", clock });
  });
  afterAll(async () => billing?.close());
  beforeEach(() => {
    clock.current = new Date("2026-11-22T10:00:00Z"); // 13:00 in Moscow
  });

  const service = () => billing.client("service");
  const consume = (userRef: string, metric: string, units: bigint, ref: string) =>
    service().quotas.consumeQuota({ userRef, metric, units, ref });
  const quotaOf = async (userRef: string, metric: string) => {
    const report = await service().quotas.getQuota({ userRef });
    return report.metrics.find((m) => m.metric === metric);
  };

  it("lists the configured plans and the time zone, and reports QuotaService in health", async () => {
    const listed = await billing.client("admin").quotas.listPlans({});
    expect(listed.timeZone).toBe("Europe/Moscow");
    expect(
      listed.plans.map((p) => ({
        code: p.planCode,
        isDefault: p.isDefault,
        price: p.priceMinor,
        months: p.periodMonths,
        quotas: p.quotas.map((q) => [q.metric, q.limit, QuotaWindow[q.window]]),
      })),
    ).toEqual([
      {
        code: "free",
        isDefault: true,
        price: 0n,
        months: 0,
        quotas: [
          ["chat_tokens", 50n, "DAY"],
          ["tpl_run", 20n, "MONTH"],
        ],
      },
      {
        code: "pro_month",
        isDefault: false,
        price: 99_000n,
        months: 1,
        quotas: [
          ["chat_tokens", 10_000n, "MONTH"],
          ["tpl_run", 200n, "MONTH"],
        ],
      },
    ]);
    const health = await billing.client("admin").health.check({ service: "billing.v1.QuotaService" });
    expect(health.status).toBe(Status.SERVING);
  });

  it("reports a new user on the default plan with full quotas and the exact reset times", async () => {
    const report = await service().quotas.getQuota({ userRef: "svc:new" });
    expect(report.planCode).toBe("free");
    expect(report.planUntil).toBeUndefined();
    expect(
      report.metrics.map((m) => ({
        metric: m.metric,
        window: QuotaWindow[m.window],
        limit: m.limit,
        extra: m.extra,
        used: m.used,
        remaining: m.remaining,
        start: iso(m.windowStart),
        resets: iso(m.resetsAt),
      })),
    ).toEqual([
      {
        metric: "chat_tokens",
        window: "DAY",
        limit: 50n,
        extra: 0n,
        used: 0n,
        remaining: 50n,
        start: "2026-11-21T21:00:00.000Z",
        resets: "2026-11-22T21:00:00.000Z",
      },
      {
        metric: "tpl_run",
        window: "MONTH",
        limit: 20n,
        extra: 0n,
        used: 0n,
        remaining: 20n,
        start: "2026-10-31T21:00:00.000Z",
        resets: "2026-11-30T21:00:00.000Z",
      },
    ]);
    // Reading creates nothing.
    expect(await storedCounters(billing, "svc:new")).toEqual([]);
  });

  it("consumes up to the daily limit, refuses one unit past it without changing anything, and resets at local midnight", async () => {
    const user = "svc:daily";
    const first = await consume(user, "chat_tokens", 30n, "m-1");
    expect(first.planCode).toBe("free");
    expect(first.quota).toMatchObject({ used: 30n, remaining: 20n, limit: 50n });
    expect((await consume(user, "chat_tokens", 20n, "m-2")).quota).toMatchObject({
      used: 50n,
      remaining: 0n,
    });

    const refused = await failure(consume(user, "chat_tokens", 1n, "m-3"));
    expect(refused).toMatchObject({ code: "ResourceExhausted", reason: "QUOTA_EXCEEDED" });
    expect(refused.quotaViolations).toHaveLength(1);
    expect(refused.quotaViolations[0]?.subject).toBe("metric:chat_tokens");
    expect(refused.quotaViolations[0]?.description).toContain("0 of 50 chat_tokens units left");
    expect(refused.quotaViolations[0]?.description).toContain("2026-11-22T21:00:00.000Z");
    expect((await storedCounters(billing, user)).map((c) => c.used_units)).toEqual([50n]);

    // The last millisecond of the local day is still the same window.
    clock.current = new Date("2026-11-22T20:59:59.999Z");
    expect((await failure(consume(user, "chat_tokens", 1n, "m-3"))).reason).toBe("QUOTA_EXCEEDED");
    // Midnight in Moscow: a new window, with no job having run. The refused ref was not remembered.
    clock.current = new Date("2026-11-22T21:00:00.000Z");
    const next = await consume(user, "chat_tokens", 1n, "m-3");
    expect(next.quota).toMatchObject({ used: 1n, remaining: 49n });
    expect(iso(next.quota?.windowStart)).toBe("2026-11-22T21:00:00.000Z");
    expect(iso(next.quota?.resetsAt)).toBe("2026-11-23T21:00:00.000Z");
    // One counter row per window; the old one is left as it was.
    expect(
      (await storedCounters(billing, user)).map((c) => [
        c.window_kind,
        c.window_start.toISOString(),
        c.used_units,
      ]),
    ).toEqual([
      ["day", "2026-11-21T21:00:00.000Z", 50n],
      ["day", "2026-11-22T21:00:00.000Z", 1n],
    ]);
  });

  it("keeps a monthly quota across days and resets it on the first of the month", async () => {
    const user = "svc:monthly";
    clock.current = new Date("2026-11-01T08:00:00Z");
    expect((await consume(user, "tpl_run", 15n, "t-1")).quota).toMatchObject({ used: 15n, remaining: 5n });
    clock.current = new Date("2026-11-30T20:59:59.999Z"); // 30 Nov, 23:59:59.999 in Moscow
    expect((await consume(user, "tpl_run", 5n, "t-2")).quota).toMatchObject({ used: 20n, remaining: 0n });
    expect((await failure(consume(user, "tpl_run", 1n, "t-3"))).reason).toBe("QUOTA_EXCEEDED");
    clock.current = new Date("2026-11-30T21:00:00Z"); // 1 December, 00:00
    const december = await consume(user, "tpl_run", 1n, "t-3");
    expect(december.quota).toMatchObject({ used: 1n, remaining: 19n });
    expect(iso(december.quota?.windowStart)).toBe("2026-11-30T21:00:00.000Z");
    expect(iso(december.quota?.resetsAt)).toBe("2026-12-31T21:00:00.000Z");
  });

  it("ends February on the 28th in a common year and on the 29th in a leap year", async () => {
    clock.current = new Date("2026-02-28T20:59:59Z"); // 28 Feb 2026, 23:59:59
    let user = "svc:feb-2026";
    let quota = (await consume(user, "tpl_run", 20n, "f-1")).quota;
    expect([iso(quota?.windowStart), iso(quota?.resetsAt)]).toEqual([
      "2026-01-31T21:00:00.000Z",
      "2026-02-28T21:00:00.000Z",
    ]);
    expect((await failure(consume(user, "tpl_run", 1n, "f-2"))).reason).toBe("QUOTA_EXCEEDED");
    clock.advance(1_000); // 1 March 2026, 00:00
    quota = (await consume(user, "tpl_run", 1n, "f-2")).quota;
    expect([quota?.used, iso(quota?.windowStart)]).toEqual([1n, "2026-02-28T21:00:00.000Z"]);

    user = "svc:feb-2028";
    clock.current = new Date("2028-02-28T21:00:00Z"); // 29 Feb 2028, 00:00
    const report = await service().quotas.getQuota({ userRef: user });
    expect(report.metrics.map((m) => [m.metric, iso(m.windowStart), iso(m.resetsAt)])).toEqual([
      ["chat_tokens", "2028-02-28T21:00:00.000Z", "2028-02-29T21:00:00.000Z"],
      ["tpl_run", "2028-01-31T21:00:00.000Z", "2028-02-29T21:00:00.000Z"],
    ]);
    await consume(user, "chat_tokens", 50n, "l-1");
    await consume(user, "tpl_run", 20n, "l-2");
    clock.current = new Date("2028-02-29T20:59:59.999Z");
    expect((await failure(consume(user, "chat_tokens", 1n, "l-3"))).reason).toBe("QUOTA_EXCEEDED");
    expect((await failure(consume(user, "tpl_run", 1n, "l-4"))).reason).toBe("QUOTA_EXCEEDED");
    clock.current = new Date("2028-02-29T21:00:00Z"); // 1 March 2028: both windows are new
    expect((await consume(user, "chat_tokens", 1n, "l-3")).quota?.remaining).toBe(49n);
    expect((await consume(user, "tpl_run", 1n, "l-4")).quota?.remaining).toBe(19n);
  });

  it("adds extra units for the current window only, once per order", async () => {
    const user = "svc:extra";
    await consume(user, "chat_tokens", 50n, "e-1");
    const added = await service().quotas.addQuota({
      userRef: user,
      orderId: "order-1",
      units: [
        { metric: "chat_tokens", units: 10n },
        { metric: "tpl_run", units: 5n },
      ],
    });
    expect(added.metrics.map((m) => [m.metric, m.limit, m.extra, m.used, m.remaining])).toEqual([
      ["chat_tokens", 50n, 10n, 50n, 10n],
      ["tpl_run", 20n, 5n, 0n, 25n],
    ]);
    // A replay (lines in another order) changes nothing and answers the same.
    const replay = await service().quotas.addQuota({
      userRef: user,
      orderId: "order-1",
      units: [
        { metric: "tpl_run", units: 5n },
        { metric: "chat_tokens", units: 10n },
      ],
    });
    expect(replay.metrics).toEqual(added.metrics);
    // Another request under the same order id is refused.
    const reused = await failure(
      service().quotas.addQuota({
        userRef: user,
        orderId: "order-1",
        units: [{ metric: "chat_tokens", units: 11n }],
      }),
    );
    expect(reused).toMatchObject({ code: "AlreadyExists", reason: "IDEMPOTENCY_KEY_REUSED" });
    expect(
      (await storedCounters(billing, user)).map((c) => [
        c.metric,
        c.window_kind,
        c.used_units,
        c.extra_units,
      ]),
    ).toEqual([
      ["tpl_run", "month", 0n, 5n], // the month started before the day
      ["chat_tokens", "day", 50n, 10n],
    ]);

    expect((await consume(user, "chat_tokens", 10n, "e-2")).quota).toMatchObject({
      used: 60n,
      remaining: 0n,
    });
    expect((await failure(consume(user, "chat_tokens", 1n, "e-3"))).reason).toBe("QUOTA_EXCEEDED");

    // Next day: the day's extra lapsed with its window; the month's is still there.
    clock.current = new Date("2026-11-22T21:00:00Z");
    const tomorrow = await service().quotas.getQuota({ userRef: user });
    expect(tomorrow.metrics.map((m) => [m.metric, m.limit, m.extra, m.used, m.remaining])).toEqual([
      ["chat_tokens", 50n, 0n, 0n, 50n],
      ["tpl_run", 20n, 5n, 0n, 25n],
    ]);
    // Next month: that one lapsed too.
    clock.current = new Date("2026-11-30T21:00:00Z");
    expect((await quotaOf(user, "tpl_run"))?.extra).toBe(0n);
  });

  it("applies a replayed consume once and refuses another request under the same ref", async () => {
    const user = "svc:replay";
    const first = await consume(user, "chat_tokens", 5n, "msg-7f2e4b");
    await consume(user, "chat_tokens", 2n, "msg-other");
    const again = await consume(user, "chat_tokens", 5n, "msg-7f2e4b");
    expect(again).toEqual(first); // the first answer (used 5), not a new one
    expect((await quotaOf(user, "chat_tokens"))?.used).toBe(7n);

    const reused = await failure(consume(user, "chat_tokens", 6n, "msg-7f2e4b"));
    expect(reused).toMatchObject({ code: "AlreadyExists", reason: "IDEMPOTENCY_KEY_REUSED" });
    expect((await failure(consume(user, "tpl_run", 5n, "msg-7f2e4b"))).reason).toBe("IDEMPOTENCY_KEY_REUSED");
    expect((await quotaOf(user, "chat_tokens"))?.used).toBe(7n);

    // A ref is the caller's reference per user, and apart from wallet idempotency keys.
    expect((await consume("svc:replay-2", "chat_tokens", 6n, "msg-7f2e4b")).quota?.used).toBe(6n);
    await billing.client("admin").wallet.openAccount({ userRef: user });
    await billing
      .client("admin")
      .wallet.charge({ userRef: user, operation: "generate", idempotencyKey: "msg-shared" });
    expect((await consume(user, "chat_tokens", 1n, "msg-shared")).quota?.used).toBe(8n);
  });

  it("refuses bad input with INVALID_ARGUMENT naming the field, and changes nothing", async () => {
    const user = "svc:bad";
    const unknownMetric = await failure(consume(user, "images", 1n, "b-1"));
    expect(unknownMetric).toMatchObject({ code: "InvalidArgument", reason: "UNKNOWN_METRIC" });
    expect(unknownMetric.fields.metric).toContain("chat_tokens, tpl_run");

    for (const units of [0n, -1n]) {
      const bad = await failure(consume(user, "chat_tokens", units, "b-2"));
      expect(bad).toMatchObject({ code: "InvalidArgument", reason: "INVALID_FIELD" });
      expect(bad.fields.units).toBe("must be positive");
    }
    expect((await failure(consume(user, "chat_tokens", 10n ** 13n, "b-2"))).fields.units).toContain(
      "at most",
    );

    const malformed = await failure(consume("not a user ref!", "chat_tokens", 1n, ""));
    expect(malformed).toMatchObject({ code: "InvalidArgument", reason: "INVALID_FIELD" });
    expect(Object.keys(malformed.fields).sort()).toEqual(["ref", "user_ref"]);
    expect((await failure(service().quotas.getQuota({ userRef: "" }))).fields.user_ref).toBeDefined();

    const unknownPlan = await failure(
      billing.client("admin").quotas.setPlan({ userRef: user, planCode: "platinum" }),
    );
    expect(unknownPlan).toMatchObject({ code: "InvalidArgument", reason: "UNKNOWN_PLAN" });
    expect(unknownPlan.fields.plan_code).toBe("must be one of free, pro_month");

    const past = await failure(
      billing.client("admin").quotas.setPlan({
        userRef: user,
        planCode: "pro_month",
        until: timestampFromDate(new Date(clock.now().getTime() - 1)),
      }),
    );
    expect(past).toMatchObject({ code: "InvalidArgument", reason: "INVALID_FIELD" });
    expect(past.fields.until).toContain("must be in the future");

    const addUnknown = await failure(
      service().quotas.addQuota({
        userRef: user,
        orderId: "o-bad",
        units: [{ metric: "images", units: 1n }],
      }),
    );
    expect(addUnknown).toMatchObject({
      reason: "UNKNOWN_METRIC",
      fields: { "units[0].metric": expect.any(String) },
    });
    const addEmpty = await failure(service().quotas.addQuota({ userRef: user, orderId: "o-bad", units: [] }));
    expect(addEmpty.fields.units).toBeDefined();
    const addZero = await failure(
      service().quotas.addQuota({
        userRef: user,
        orderId: "o-bad",
        units: [{ metric: "tpl_run", units: 0n }],
      }),
    );
    expect(addZero.fields["units[0].units"]).toBe("must be positive");

    const report = await service().quotas.getQuota({ userRef: user });
    expect(report.planCode).toBe("free");
    expect(report.metrics.map((m) => [m.used, m.extra])).toEqual([
      [0n, 0n],
      [0n, 0n],
    ]);
    expect(await storedCounters(billing, user)).toEqual([]);
  });

  it("puts a user on a plan (admin) until a time, then back on the default plan", async () => {
    const user = "svc:pro";
    const until = new Date("2026-12-22T10:00:00Z");
    const set = await billing
      .client("admin")
      .quotas.setPlan({ userRef: user, planCode: "pro_month", until: timestampFromDate(until) });
    expect([set.userRef, set.planCode, iso(set.until)]).toEqual([user, "pro_month", until.toISOString()]);

    // The service scope (the metered services) and admin read quotas.
    for (const scope of ["service", "admin"] as const) {
      const report = await billing.client(scope).quotas.getQuota({ userRef: user });
      expect([report.planCode, iso(report.planUntil)]).toEqual(["pro_month", until.toISOString()]);
      expect(report.metrics.map((m) => [m.metric, QuotaWindow[m.window], m.limit])).toEqual([
        ["chat_tokens", "MONTH", 10_000n],
        ["tpl_run", "MONTH", 200n],
      ]);
    }
    expect((await consume(user, "chat_tokens", 500n, "p-1")).quota).toMatchObject({
      used: 500n,
      remaining: 9_500n,
    });

    // At `until` the plan has ended: the default plan and its daily window apply again.
    clock.current = until;
    const after = await service().quotas.getQuota({ userRef: user });
    expect([after.planCode, after.planUntil]).toEqual(["free", undefined]);
    expect(after.metrics[0]).toMatchObject({
      metric: "chat_tokens",
      window: QuotaWindow.DAY,
      limit: 50n,
      used: 0n,
    });

    // A plan without end, and back to the default plan.
    await billing.client("admin").quotas.setPlan({ userRef: user, planCode: "pro_month" });
    const endless = await service().quotas.getQuota({ userRef: user });
    expect([endless.planCode, endless.planUntil]).toEqual(["pro_month", undefined]);
    await billing.client("admin").quotas.setPlan({ userRef: user, planCode: "free" });
    expect((await service().quotas.getQuota({ userRef: user })).planCode).toBe("free");
  });

  it("refuses each RPC to the scopes it is not for", async () => {
    const denied = async (call: Promise<unknown>) => {
      const result = await failure(call);
      return [result.code, result.reason];
    };
    const expected = ["PermissionDenied", "PERMISSION_DENIED"];
    expect(
      await denied(billing.client("service").quotas.setPlan({ userRef: "u:1", planCode: "pro_month" })),
    ).toEqual(expected);
    expect(
      await denied(billing.client("bot").quotas.setPlan({ userRef: "u:1", planCode: "pro_month" })),
    ).toEqual(expected);
    expect(
      await denied(
        billing.client("bot").quotas.consumeQuota({ userRef: "u:1", metric: "tpl_run", units: 1n, ref: "r" }),
      ),
    ).toEqual(expected);
    expect(await denied(billing.client("worker").quotas.getQuota({ userRef: "u:1" }))).toEqual(expected);
    expect(
      await denied(
        billing
          .client("webhooks")
          .quotas.addQuota({ userRef: "u:1", orderId: "o", units: [{ metric: "tpl_run", units: 1n }] }),
      ),
    ).toEqual(expected);
    expect((await service().quotas.getQuota({ userRef: "u:1" })).planCode).toBe("free");
  });

  it("counts consumed units and rejections in billing's /metrics by metric and plan", async () => {
    const consumed = { metric: "tpl_run", plan: "free" };
    const before = {
      consumed: await metricValue(billing.metricsUrl, "billing_quota_consumed_units_total", consumed),
      rejected: await metricValue(billing.metricsUrl, "billing_quota_rejected_total", consumed),
      pro: await metricValue(billing.metricsUrl, "billing_quota_consumed_units_total", {
        metric: "tpl_run",
        plan: "pro_month",
      }),
    };
    // Every series of the catalogue exists from the start.
    expect(Math.min(before.consumed, before.rejected, before.pro)).toBeGreaterThanOrEqual(0);

    const user = "svc:metrics";
    await consume(user, "tpl_run", 7n, "x-1");
    await consume(user, "tpl_run", 7n, "x-1"); // a replay is not counted again
    await consume(user, "tpl_run", 13n, "x-2");
    await failure(consume(user, "tpl_run", 1n, "x-3"));
    await failure(consume(user, "tpl_run", 2n, "x-4"));
    await failure(consume(user, "images", 1n, "x-5")); // not a quota rejection

    expect(await metricValue(billing.metricsUrl, "billing_quota_consumed_units_total", consumed)).toBe(
      before.consumed + 20,
    );
    expect(await metricValue(billing.metricsUrl, "billing_quota_rejected_total", consumed)).toBe(
      before.rejected + 2,
    );
    expect(
      await metricValue(billing.metricsUrl, "billing_quota_consumed_units_total", {
        metric: "tpl_run",
        plan: "pro_month",
      }),
    ).toBe(before.pro);
  });

  it("works from buf curl through reflection, as in the README", async () => {
    const buf = ["buf", "curl", "--protocol", "grpc", "--http2-prior-knowledge"];
    const env = { ...process.env, BUF_CACHE_DIR: process.env.BUF_CACHE_DIR ?? "/tmp/buf-cache" };
    const listed = await run(
      "npx",
      [...buf, "--reflect-protocol", "grpc-v1alpha", "--list-services", billing.server.url],
      { env },
    );
    expect(listed.stdout).toContain("billing.v1.QuotaService");
    const call = async (token: string, method: string, body: object) =>
      JSON.parse(
        (
          await run(
            "npx",
            [
              ...buf,
              "-H",
              `authorization: Bearer ${token}`,
              "-d",
              JSON.stringify(body),
              `${billing.server.url}/billing.v1.QuotaService/${method}`,
            ],
            { env },
          )
        ).stdout,
      ) as unknown;
    expect(
      await call(billing.tokens.admin, "SetPlan", { user_ref: "svc:curl", plan_code: "pro_month" }),
    ).toEqual({
      userRef: "svc:curl",
      planCode: "pro_month",
    });
    expect(
      await call(billing.tokens.service, "ConsumeQuota", {
        user_ref: "svc:curl",
        metric: "tpl_run",
        units: 3,
        ref: "curl-1",
      }),
    ).toMatchObject({
      planCode: "pro_month",
      quota: { metric: "tpl_run", window: "QUOTA_WINDOW_MONTH", limit: "200", used: "3", remaining: "197" },
    });
    expect(await call(billing.tokens.service, "GetQuota", { user_ref: "svc:curl" })).toMatchObject({
      planCode: "pro_month",
      metrics: [
        { metric: "chat_tokens", remaining: "10000" },
        { metric: "tpl_run", used: "3", resetsAt: "2026-11-30T21:00:00Z" },
      ],
    });
  });
});

describe("QuotaService in a zone with daylight saving time (Europe/Berlin)", () => {
  const clock = new ManualClock(new Date("2026-03-29T10:00:00Z"));
  let billing: TestBilling;
  beforeAll(async () => {
    billing = await startTestBilling({
      label: "quotas_dst",
      clock,
      env: { BILLING_QUOTA_TIME_ZONE: "Europe/Berlin" },
    });
  });
  afterAll(async () => billing?.close());

  it("resets a daily quota at local midnight on 23- and 25-hour days", async () => {
    const service = billing.client("service");
    // 29 March 2026: clocks go forward; the day runs from 00:00 CET to 00:00 CEST, 23 hours.
    const spring = await service.quotas.consumeQuota({
      userRef: "svc:berlin",
      metric: "chat_tokens",
      units: 50n,
      ref: "s-1",
    });
    expect([iso(spring.quota?.windowStart), iso(spring.quota?.resetsAt)]).toEqual([
      "2026-03-28T23:00:00.000Z",
      "2026-03-29T22:00:00.000Z",
    ]);
    clock.current = new Date("2026-03-29T21:59:59.999Z");
    expect(
      (
        await failure(
          service.quotas.consumeQuota({
            userRef: "svc:berlin",
            metric: "chat_tokens",
            units: 1n,
            ref: "s-2",
          }),
        )
      ).reason,
    ).toBe("QUOTA_EXCEEDED");
    clock.advance(1);
    expect(
      (
        await service.quotas.consumeQuota({
          userRef: "svc:berlin",
          metric: "chat_tokens",
          units: 1n,
          ref: "s-2",
        })
      ).quota?.used,
    ).toBe(1n);

    // 25 October 2026: clocks go back; the day lasts 25 hours.
    clock.current = new Date("2026-10-25T12:00:00Z");
    const autumn = (await service.quotas.getQuota({ userRef: "svc:berlin" })).metrics[0];
    expect([iso(autumn?.windowStart), iso(autumn?.resetsAt)]).toEqual([
      "2026-10-24T22:00:00.000Z",
      "2026-10-25T23:00:00.000Z",
    ]);
    const lengthMs =
      Number(autumn?.resetsAt?.seconds ?? 0n) * 1000 - Number(autumn?.windowStart?.seconds ?? 0n) * 1000;
    expect(lengthMs).toBe(25 * HOUR_MS);
    // The month of October: 31 days and one hour.
    const month = (await service.quotas.getQuota({ userRef: "svc:berlin" })).metrics[1];
    expect([iso(month?.windowStart), iso(month?.resetsAt)]).toEqual([
      "2026-09-30T22:00:00.000Z",
      "2026-10-31T23:00:00.000Z",
    ]);
  });
});
