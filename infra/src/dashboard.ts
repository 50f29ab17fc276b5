// Grafana dashboards are written as short specs (title, unit, queries) and rendered to the JSON that
// Grafana provisions, so the files stay consistent (layout, datasource, ids) and a test can read
// every query.

export interface PanelSpec {
  readonly title: string;
  /** Grafana unit: reqps, s, short, bytes, percentunit, currencyRUB, ops… */
  readonly unit: string;
  /** `stat` for one figure, `timeseries` (default) for a graph. */
  readonly type?: "stat" | "timeseries";
  /** [PromQL, legend]. */
  readonly targets: readonly (readonly [string, string])[];
  readonly description?: string;
}

export interface DashboardSpec {
  /** File name under infra/grafana/dashboards/ (without .json) and the dashboard's uid. */
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly panels: readonly PanelSpec[];
}

const GRID_WIDTH = 24;
const SIZE = { stat: { w: 6, h: 4 }, timeseries: { w: 12, h: 8 } } as const;

/** The dashboard as Grafana's JSON model (schemaVersion 39), panels laid out left to right. */
export function renderDashboard(spec: DashboardSpec): Record<string, unknown> {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const panels = spec.panels.map((panel, index) => {
    const type = panel.type ?? "timeseries";
    const { w, h } = SIZE[type];
    if (x + w > GRID_WIDTH) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const gridPos = { h, w, x, y };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return {
      id: index + 1,
      type,
      title: panel.title,
      ...(panel.description === undefined ? {} : { description: panel.description }),
      datasource: { type: "prometheus", uid: "${datasource}" },
      gridPos,
      fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
      ...(type === "stat"
        ? { options: { reduceOptions: { calcs: ["lastNotNull"] }, graphMode: "none" } }
        : {}),
      targets: panel.targets.map(([expr, legendFormat], i) => ({
        expr,
        legendFormat,
        refId: String.fromCharCode(65 + i),
      })),
    };
  });
  return {
    title: spec.title,
    uid: spec.uid,
    description: spec.description,
    tags: ["billing-core"],
    schemaVersion: 39,
    editable: false,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    templating: {
      list: [{ name: "datasource", label: "Prometheus", type: "datasource", query: "prometheus" }],
    },
    panels,
  };
}
