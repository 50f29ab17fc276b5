// The monitoring files as Prometheus, Grafana, compose and Kubernetes will read them: promtool accepts
// the configuration and the rules, the alerts the operators rely on exist, the generated files are
// up to date, and both deployments provision the same dashboards and rules.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderedFiles } from "../src/render.js";
import { requireBinary } from "./binaries.js";
import { infraText, infraYaml } from "./files.js";

const infraRoot = fileURLToPath(new URL("..", import.meta.url));

function promtool(...args: string[]): string {
  return execFileSync(requireBinary("promtool"), args, { cwd: infraRoot, encoding: "utf8", stdio: "pipe" });
}

interface RuleGroup {
  name: string;
  rules: { alert?: string; record?: string; expr: string }[];
}
const groupsOf = (file: string) => (infraYaml(`prometheus/${file}`) as { groups: RuleGroup[] }).groups;

describe("Prometheus configuration", () => {
  it("promtool check config accepts the local configuration and its rule files", () => {
    expect(promtool("check", "config", "prometheus/prometheus.yml")).toContain("SUCCESS: 2 rule files found");
  });

  it("promtool check rules accepts the recording rules and the alerts", () => {
    const out = promtool("check", "rules", "prometheus/rules.yml", "prometheus/alerts.yml");
    expect(out).toMatch(/rules\.yml\s+SUCCESS: \d+ rules found/);
    expect(out).toMatch(/alerts\.yml\s+SUCCESS: \d+ rules found/);
  });

  it("the Kubernetes configuration loads the same rule files (Debian's promtool lacks kubernetes_sd, so it is read here)", () => {
    const k8s = infraYaml("prometheus/prometheus-k8s.yml") as {
      rule_files: string[];
      scrape_configs: unknown[];
    };
    const local = infraYaml("prometheus/prometheus.yml") as { rule_files: string[] };
    expect(k8s.rule_files).toEqual(local.rule_files);
    expect(JSON.stringify(k8s.scrape_configs)).toContain("prometheus_io_scrape");
  });

  it("has the alerts operators rely on", () => {
    const alerts = groupsOf("alerts.yml").flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts).toEqual(
      expect.arrayContaining([
        "OutboxLagging",
        "HoldsExpiringFasterThanCommitted",
        "PaymentMismatch",
        "YooKassaServerErrors",
        "DeadLettersGrowing",
        "BotRateLimited",
        "WorkerNoProgress",
      ]),
    );
  });
});

describe("generated files", () => {
  it("dashboards and Kubernetes ConfigMaps are rendered from the current sources", async () => {
    for (const [path, content] of await renderedFiles()) {
      expect(infraText(path), `${path} is stale: run \`npm run -w @billing/infra render\``).toBe(content);
    }
    const onDisk = readdirSync(`${infraRoot}grafana/dashboards`).sort();
    const rendered = [...(await renderedFiles()).keys()]
      .filter((p) => p.startsWith("grafana/dashboards/"))
      .map((p) => p.slice("grafana/dashboards/".length))
      .sort();
    expect(onDisk).toEqual(rendered);
  });
});

describe("provisioning", () => {
  interface ComposeService {
    volumes?: string[];
    command?: string[];
  }
  const compose = infraYaml("compose.yaml") as { services: Record<string, ComposeService> };

  it("compose mounts Prometheus's configuration and Grafana's provisioning layout from infra/", () => {
    const mounts = (service: string) =>
      (compose.services[service]?.volumes ?? [])
        .map((v) => v.split(":"))
        .filter(([src]) => src?.startsWith("./"));
    for (const service of ["prometheus", "grafana"]) {
      const found = mounts(service);
      expect(found.length, service).toBeGreaterThan(0);
      for (const [source] of found) expect(existsSync(`${infraRoot}${source}`), source).toBe(true);
    }
    expect(mounts("grafana").map(([, target]) => target)).toEqual([
      "/etc/grafana/provisioning",
      "/var/lib/grafana/dashboards",
    ]);
    const provider = infraYaml("grafana/provisioning/dashboards/billing-core.yml") as {
      providers: { options: { path: string } }[];
    };
    expect(provider.providers[0]?.options.path).toBe("/var/lib/grafana/dashboards");
    const datasource = infraYaml("grafana/provisioning/datasources/prometheus.yml") as {
      datasources: { url: string }[];
    };
    const listen = compose.services["prometheus"]?.command?.find((a) =>
      a.startsWith("--web.listen-address="),
    );
    expect(datasource.datasources[0]?.url).toBe(`http://${listen?.split("=")[1]}`);
  });

  it("Kubernetes provisions Prometheus and Grafana from ConfigMaps that the kustomization lists", () => {
    const kustomization = infraYaml("k8s/kustomization.yaml") as { resources: string[] };
    expect(kustomization.resources).toEqual(
      expect.arrayContaining(["monitoring-config.yaml", "monitoring.yaml"]),
    );
    const maps = new Map<string, Record<string, string>>();
    for (const doc of infraText("k8s/monitoring-config.yaml").split(/^---$/m)) {
      const map = parse(doc) as { metadata: { name: string }; data: Record<string, string> };
      maps.set(map.metadata.name, map.data);
    }
    const used = infraText("k8s/monitoring.yaml")
      .split(/^---$/m)
      .flatMap((doc) => {
        const volumes = (
          parse(doc) as { spec?: { template?: { spec?: { volumes?: { configMap?: { name: string } }[] } } } }
        ).spec?.template?.spec?.volumes;
        return (volumes ?? []).flatMap((v) => (v.configMap === undefined ? [] : [v.configMap.name]));
      });
    expect(used.sort()).toEqual([...maps.keys()].sort());
    expect(Object.keys(maps.get("prometheus-config") ?? {}).sort()).toEqual([
      "alerts.yml",
      "prometheus.yml",
      "rules.yml",
    ]);
    expect(Object.keys(maps.get("grafana-dashboards") ?? {}).sort()).toEqual(
      readdirSync(`${infraRoot}grafana/dashboards`).sort(),
    );
  });
});
