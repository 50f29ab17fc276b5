// The local scrape targets must be the ports the local stack really serves /metrics on: a target on
// the wrong port is silently "down" and its app's alerts never fire.
import { describe, expect, it } from "vitest";
import { infraEnv, infraYaml } from "./files.js";

interface StaticConfig {
  targets: string[];
  labels: { app: string };
}
interface ScrapeConfig {
  job_name: string;
  static_configs?: StaticConfig[];
}

function localTargets(): Map<string, string> {
  const config = infraYaml("prometheus/prometheus.yml") as { scrape_configs: ScrapeConfig[] };
  const targets = new Map<string, string>();
  for (const job of config.scrape_configs) {
    for (const group of job.static_configs ?? []) {
      for (const target of group.targets) targets.set(group.labels.app, target);
    }
  }
  return targets;
}

describe("infra/prometheus/prometheus.yml", () => {
  const env = infraEnv("local.env");
  const metricsPortOf: Record<string, string | undefined> = {
    billing: env.get("BILLING_METRICS_PORT"),
    worker: env.get("WORKER_OPS_PORT"),
    bot: env.get("BOT_OPS_PORT"),
    webhooks: env.get("WEBHOOKS_PORT"),
  };

  it("scrapes every app of the local stack on the port infra/local.env gives it", () => {
    const targets = localTargets();
    expect([...targets.keys()].sort()).toEqual(Object.keys(metricsPortOf).sort());
    for (const [app, port] of Object.entries(metricsPortOf)) {
      expect(port, `${app}'s port in local.env`).toMatch(/^\d+$/);
      expect(targets.get(app), app).toBe(`127.0.0.1:${port}`);
    }
  });
});
