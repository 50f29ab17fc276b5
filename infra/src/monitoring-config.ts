// The Kubernetes ConfigMaps that provision Prometheus and Grafana (infra/k8s/monitoring-config.yaml),
// made from the very files compose mounts, so the two deployments cannot drift apart. Kustomize may
// not read files above its folder, hence a rendered file (and a test that it is up to date).
import { stringify } from "yaml";

export interface MonitoringFiles {
  /** Prometheus's Kubernetes configuration (pod discovery). */
  readonly prometheusConfig: string;
  /** Rule files by name (rules.yml, alerts.yml). */
  readonly ruleFiles: Readonly<Record<string, string>>;
  readonly grafanaDashboardsProvider: string;
  /** Dashboard JSON by file name. */
  readonly dashboards: Readonly<Record<string, string>>;
}

const GRAFANA_DATASOURCE = `apiVersion: 1
datasources:
  - name: Prometheus
    uid: prometheus
    type: prometheus
    access: proxy
    url: http://prometheus:9090
    isDefault: true
    jsonData:
      timeInterval: 15s
`;

function configMap(name: string, data: Record<string, string>): Record<string, unknown> {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels: { app: "monitoring" } }, data };
}

export function renderMonitoringConfig(files: MonitoringFiles): string {
  const maps = [
    configMap("prometheus-config", { "prometheus.yml": files.prometheusConfig, ...files.ruleFiles }),
    configMap("grafana-datasources", { "prometheus.yml": GRAFANA_DATASOURCE }),
    configMap("grafana-dashboard-providers", { "billing-core.yml": files.grafanaDashboardsProvider }),
    configMap("grafana-dashboards", { ...files.dashboards }),
  ];
  const header =
    "# Rendered by `npm run -w @billing/infra render` from infra/prometheus/ and infra/grafana/: do not edit.\n";
  return header + maps.map((map) => stringify(map, { lineWidth: 0 })).join("---\n");
}
