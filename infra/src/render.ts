// Writes the generated monitoring files: the dashboards' JSON (infra/grafana/dashboards/) and the
// Kubernetes ConfigMaps (infra/k8s/monitoring-config.yaml). `npm run -w @billing/infra render`;
// infra/test/monitoring-files.test.ts fails when they are stale.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";
import { renderDashboard } from "./dashboard.js";
import { DASHBOARDS } from "./dashboards.js";
import { renderMonitoringConfig } from "./monitoring-config.js";

const infraRoot = fileURLToPath(new URL("..", import.meta.url));
const read = (path: string) => readFileSync(`${infraRoot}${path}`, "utf8");

/** Every generated file: path under infra/ → content, formatted as `prettier --check .` expects. */
export async function renderedFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const [path, content] of rawFiles()) {
    const filepath = `${infraRoot}${path}`;
    files.set(path, await format(content, { ...(await resolveConfig(filepath)), filepath }));
  }
  return files;
}

function rawFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const dashboards: Record<string, string> = {};
  for (const spec of DASHBOARDS) {
    const json = `${JSON.stringify(renderDashboard(spec), null, 2)}\n`;
    files.set(`grafana/dashboards/${spec.uid}.json`, json);
    dashboards[`${spec.uid}.json`] = json;
  }
  files.set(
    "k8s/monitoring-config.yaml",
    renderMonitoringConfig({
      prometheusConfig: read("prometheus/prometheus-k8s.yml"),
      ruleFiles: { "rules.yml": read("prometheus/rules.yml"), "alerts.yml": read("prometheus/alerts.yml") },
      grafanaDashboardsProvider: read("grafana/provisioning/dashboards/billing-core.yml"),
      dashboards,
    }),
  );
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = await renderedFiles();
  for (const [path, content] of files) writeFileSync(`${infraRoot}${path}`, content);
  console.log(`rendered ${[...files.keys()].join(", ")}`);
}
