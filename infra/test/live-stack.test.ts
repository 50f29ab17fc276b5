// A real Prometheus against the real stack (billing, worker, webhooks and bot processes on free
// ports, PostgreSQL, NATS, the Telegram and YooKassa fakes): every target is up, a recording rule
// yields the figure a scripted journey implies, and every dashboard query names metrics that the
// apps' live /metrics really serve (or recording rules) and is valid PromQL.
import { waitFor } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack, type TestUser } from "../../apps/bot/test/e2e/stack.js";
import { DASHBOARDS } from "../src/dashboards.js";
import { infraYaml } from "./files.js";
import { type PrometheusServer, startPrometheus } from "./prometheus-server.js";
import { metricNamesOf } from "./promql.js";

let stack: Stack;
let prometheus: PrometheusServer;
const hostOf = (url: string) => new URL(url).host;
/** Scrapes and rule evaluations run every second; a loaded CI machine may take a while. */
const settle = <T>(what: string, probe: () => Promise<T | undefined>) => waitFor(what, probe, 30_000);

beforeAll(async () => {
  stack = await startStack({ label: "infra_prometheus" });
  prometheus = await startPrometheus({
    billing: hostOf(stack.billing.metricsUrl),
    worker: hostOf(stack.workerOps),
    bot: hostOf(stack.botOps),
    webhooks: hostOf(stack.webhooksOrigin),
  });
}, 120_000);
afterAll(async () => {
  await prometheus?.close();
  await stack?.close();
});

/** Chooses the first mode from the newest menu, sends a prompt and waits for the picture. */
async function generate(user: TestUser, prompt: string): Promise<void> {
  const before = user.mark();
  user.press("🎨");
  await user.reply(before, /Describe the picture/);
  const sent = user.send(prompt).message_id;
  const result = await user.reply(sent, (m) => m.photo !== undefined, 30_000);
  user.press("🏠", { on: result });
  await user.reply(result.message_id, /Choose a mode/);
}

/** One user through Telegram (two free generations), one through billing's API (paid ones). */
async function journey(): Promise<void> {
  const user = stack.user({ id: 4242, first_name: "Ops", language_code: "en" });
  await user.reply(user.send("/start").message_id, /Hi, Ops/);
  await generate(user, "a red fox");
  // The job-time histogram's series appear with the first job; a scrape between the two jobs lets
  // rate() see the second one.
  await settle("the first job scraped", async () =>
    (await prometheus.query("worker_job_duration_seconds_count")).length > 0 ? true : undefined,
  );
  await generate(user, "a blue fox");

  // A second user spends the starter free operations, then pays with granted credits: two charges of
  // 10 credits and a hold of 10 committed for 4 — 24 credits over 3 paid generations.
  const userRef = "telegram:4343";
  await stack.client.wallet.openAccount({ userRef });
  await stack.admin.wallet.grant({ userRef, amountCredits: 30n, reason: "test", idempotencyKey: "g-4343" });
  for (let i = 0; i < 6; i++) {
    await stack.admin.wallet.charge({
      userRef,
      operation: "generate",
      idempotencyKey: `c-${i}`,
      reference: `r-${i}`,
    });
  }
  const { hold } = await stack.client.wallet.reserve({
    userRef,
    operation: "edit",
    idempotencyKey: "h-1",
    jobId: "j-1",
  });
  await stack.admin.wallet.commit({ holdId: hold?.holdId ?? "", amount: 4n });
}

describe("a real Prometheus against the local stack", () => {
  it("scrapes every app: each target is up", async () => {
    const targets = await settle("every target up", async () => {
      const found = await prometheus.targets();
      return found.length === 4 && found.every((t) => t.health === "up") ? found : undefined;
    });
    expect(targets.map((t) => t.labels["app"]).sort()).toEqual(["billing", "bot", "webhooks", "worker"]);
  }, 90_000);

  it("a recording rule yields the average paid cost the journey implies (24 credits / 3 paid generations)", async () => {
    // The counters must have been scraped at 0 first, so that increase() sees the whole journey.
    await settle("billing's counters scraped at zero", async () => {
      const zero = await prometheus.query('sum(billing_generations_total{funded_by="CREDITS"})');
      return zero.length === 1 && zero[0]?.value === 0 ? true : undefined;
    });
    await journey();
    const expectSettled = async (expr: string, expected: number) => {
      const value = await settle(`${expr} = ${expected}`, async () => {
        const [sample] = await prometheus.query(expr);
        return sample !== undefined && Math.abs(sample.value - expected) < 1e-9 ? sample.value : undefined;
      });
      expect(value).toBeCloseTo(expected, 9);
    };
    await expectSettled("billing:paid_cost_per_generation_credits:ratio1d", 8);
    // 6 free generations (4 charges, 2 through the bot) and 3 paid ones were counted, each once.
    await expectSettled('sum(billing_generations_total{funded_by="FREE_OPERATION"})', 6);
    await expectSettled("sum(billing_generations_total)", 9);
    await expectSettled("sum(billing_starter_grants_total)", 2);
    await expectSettled('sum(worker_jobs_total{outcome="completed"})', 2);
    const jobTime = await settle("the job processing time rule", async () => {
      const [sample] = await prometheus.query("worker:job_duration_seconds:mean5m");
      return sample !== undefined && sample.value > 0 ? sample.value : undefined;
    });
    expect(jobTime).toBeLessThan(30);
  }, 90_000);

  it("every dashboard query is valid PromQL and names metrics the apps serve or rules record", async () => {
    const served = new Set<string>();
    for (const origin of [stack.billing.metricsUrl, stack.workerOps, stack.botOps, stack.webhooksOrigin]) {
      const text = await (await fetch(`${origin}/metrics`)).text();
      // A declared metric counts even before its first sample (a labelled counter that never moved).
      for (const [, name, type] of text.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/gm)) {
        if (name === undefined) continue;
        served.add(name);
        if (type === "histogram")
          for (const suffix of ["_bucket", "_sum", "_count"]) served.add(name + suffix);
        if (type === "summary") for (const suffix of ["_sum", "_count"]) served.add(name + suffix);
      }
    }
    const recorded = new Set(
      (infraYaml("prometheus/rules.yml") as { groups: { rules: { record?: string }[] }[] }).groups.flatMap(
        (g) => g.rules.flatMap((r) => (r.record === undefined ? [] : [r.record])),
      ),
    );
    const missing: string[] = [];
    for (const dashboard of DASHBOARDS) {
      for (const panel of dashboard.panels) {
        for (const [expr] of panel.targets) {
          const answer = await prometheus.queryRaw(expr);
          expect(answer, `${dashboard.uid} / ${panel.title}: ${expr}`).toMatchObject({ status: "success" });
          for (const name of metricNamesOf(expr)) {
            if (!served.has(name) && !recorded.has(name))
              missing.push(`${dashboard.uid} / ${panel.title}: ${name}`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
    // And the rules themselves read only served metrics.
    const rules = (infraYaml("prometheus/rules.yml") as { groups: { rules: { expr: string }[] }[] }).groups;
    const ruleInputs = rules.flatMap((g) => g.rules.flatMap((r) => metricNamesOf(r.expr)));
    expect(ruleInputs.filter((name) => !served.has(name))).toEqual([]);
  }, 90_000);
});
