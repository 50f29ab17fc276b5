// Random sequences of ConsumeQuota, AddQuota and clock moves against the real server, checked after
// every step against a model: used <= limit + extra in every window, each answer as the model
// predicts (including replays and reused keys), and a refused call changes nothing.
import fc from "fast-check";
import { QuotaWindow } from "@billing/proto/billing/v1/quotas_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { windowAt } from "../../src/quotas/calendar.js";
import { ManualClock, startTestBilling, type TestBilling } from "../support/helpers.js";
import { failure, iso } from "../support/quota-helpers.js";

const TIME_ZONE = "Europe/Berlin"; // with DST, so some days last 23 or 25 hours
const PLAN = {
  plan_code: "tiny",
  title: "Tiny",
  is_default: true,
  quotas: [
    { metric: "chat_tokens", limit: 12, window: "day" },
    { metric: "tpl_run", limit: 20, window: "month" },
  ],
};
const LIMITS = { chat_tokens: 12n, tpl_run: 20n } as const;
const KINDS = { chat_tokens: "day", tpl_run: "month" } as const;
type Metric = keyof typeof LIMITS;
const METRICS = Object.keys(LIMITS) as Metric[];

type Command =
  | { kind: "consume"; metric: Metric; units: bigint; ref: number }
  | { kind: "add"; lines: { metric: Metric; units: bigint }[]; order: number }
  | { kind: "advance"; ms: number };

const metricArb = fc.constantFrom(...METRICS);
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("consume" as const),
      metric: metricArb,
      // Mostly small, so that windows fill up to exactly their limit as well as past it.
      units: fc.oneof(fc.constant(1n), fc.bigInt({ min: 1n, max: 4n }), fc.bigInt({ min: 1n, max: 15n })),
      ref: fc.nat({ max: 11 }), // few refs, so replays and reused refs happen
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("add" as const),
      lines: fc.uniqueArray(fc.record({ metric: metricArb, units: fc.bigInt({ min: 1n, max: 6n }) }), {
        minLength: 1,
        maxLength: 2,
        selector: (line) => line.metric,
      }),
      order: fc.nat({ max: 4 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.constantFrom(60_000, 3_600_000, 7 * 3_600_000, 86_400_000, 13 * 86_400_000, 31 * 86_400_000),
    }),
  },
);

interface Snapshot {
  metric: string;
  limit: bigint;
  extra: bigint;
  used: bigint;
  remaining: bigint;
  windowStart: string | undefined;
}

describe("quota model (property)", () => {
  const clock = new ManualClock();
  let billing: TestBilling;
  beforeAll(async () => {
    billing = await startTestBilling({
      label: "quota_model",
      clock,
      env: { BILLING_PLANS: JSON.stringify([PLAN]), BILLING_QUOTA_TIME_ZONE: TIME_ZONE },
    });
  });
  afterAll(async () => billing?.close());

  it("never exceeds limit + extra, answers as the model says, and refused calls change nothing", async () => {
    const quotas = () => billing.client("service").quotas;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.date({
          min: new Date("2026-01-01T00:00:00Z"),
          max: new Date("2028-12-31T00:00:00Z"),
          noInvalidDate: true,
        }),
        fc.array(commandArb, { minLength: 1, maxLength: 40 }),
        async (start, commands) => {
          run++;
          const user = `svc:model-${run}`;
          clock.current = start;
          // The model: usage per window, and the first answer (or request) under each key.
          const windows = new Map<string, { used: bigint; extra: bigint }>();
          const refs = new Map<number, { request: string; answer: unknown }>();
          const orders = new Map<number, { request: string; answer: unknown }>();
          const windowKey = (metric: Metric) =>
            `${metric}@${windowAt(KINDS[metric], clock.now(), TIME_ZONE).start.toISOString()}`;
          const usage = (metric: Metric) => windows.get(windowKey(metric)) ?? { used: 0n, extra: 0n };

          const snapshot = async (): Promise<Snapshot[]> =>
            (await quotas().getQuota({ userRef: user })).metrics.map((m) => ({
              metric: m.metric,
              limit: m.limit,
              extra: m.extra,
              used: m.used,
              remaining: m.remaining,
              windowStart: iso(m.windowStart),
            }));
          const checkAgainstModel = (state: Snapshot[]) => {
            for (const metric of METRICS) {
              const reported = state.find((s) => s.metric === metric);
              const expected = usage(metric);
              expect(reported).toEqual({
                metric,
                limit: LIMITS[metric],
                extra: expected.extra,
                used: expected.used,
                remaining: LIMITS[metric] + expected.extra - expected.used,
                windowStart: windowAt(KINDS[metric], clock.now(), TIME_ZONE).start.toISOString(),
              });
              expect(expected.used <= LIMITS[metric] + expected.extra).toBe(true);
            }
          };

          for (const command of commands) {
            const before = await snapshot();
            checkAgainstModel(before);
            if (command.kind === "advance") {
              clock.advance(command.ms);
              continue;
            }
            if (command.kind === "consume") {
              const request = JSON.stringify([command.metric, command.units.toString()]);
              const call = quotas().consumeQuota({
                userRef: user,
                metric: command.metric,
                units: command.units,
                ref: `ref-${command.ref}`,
              });
              const known = refs.get(command.ref);
              const window = usage(command.metric);
              if (known !== undefined && known.request !== request) {
                expect((await failure(call)).reason).toBe("IDEMPOTENCY_KEY_REUSED");
              } else if (known !== undefined) {
                expect(await call).toEqual(known.answer); // a replay: the first answer, nothing used
              } else if (window.used + command.units > LIMITS[command.metric] + window.extra) {
                expect((await failure(call)).reason).toBe("QUOTA_EXCEEDED");
              } else {
                const answer = await call;
                windows.set(windowKey(command.metric), { ...window, used: window.used + command.units });
                expect(answer.quota?.used).toBe(window.used + command.units);
                refs.set(command.ref, { request, answer });
                continue;
              }
            } else {
              const request = JSON.stringify(
                [...command.lines]
                  .sort((a, b) => (a.metric < b.metric ? -1 : 1))
                  .map((l) => [l.metric, `${l.units}`]),
              );
              const call = quotas().addQuota({
                userRef: user,
                orderId: `order-${run}-${command.order}`,
                units: command.lines,
              });
              const known = orders.get(command.order);
              if (known !== undefined && known.request !== request) {
                expect((await failure(call)).reason).toBe("IDEMPOTENCY_KEY_REUSED");
              } else if (known !== undefined) {
                expect(await call).toEqual(known.answer);
              } else {
                const answer = await call;
                for (const line of command.lines) {
                  const window = usage(line.metric);
                  windows.set(windowKey(line.metric), { ...window, extra: window.extra + line.units });
                }
                expect(answer.metrics.map((m) => m.metric)).toEqual(command.lines.map((l) => l.metric));
                expect(answer.metrics.every((m) => m.window !== QuotaWindow.UNSPECIFIED)).toBe(true);
                orders.set(command.order, { request, answer });
                continue;
              }
            }
            // Refused or replayed: nothing changed.
            expect(await snapshot()).toEqual(before);
          }
          checkAgainstModel(await snapshot());
        },
      ),
      { numRuns: 40 },
    );
  }, 180_000);
});
