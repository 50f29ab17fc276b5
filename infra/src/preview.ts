// Renders a dashboard's panels as a static HTML page from a running Prometheus's HTTP API — the same
// queries Grafana would run (infra/src/dashboards.ts) — for a screenshot where Grafana itself is not
// available (it is not a Debian package). Stat panels show the last value; graphs plot query_range.
//
//   npm run -w @billing/infra preview -- --prometheus http://127.0.0.1:9090 --dashboard billing-product --out p.html
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { PanelSpec } from "./dashboard.js";
import { DASHBOARDS } from "./dashboards.js";

interface Series {
  label: string;
  points: [number, number][];
}

const COLORS = ["#73bf69", "#f2cc0c", "#5794f2", "#ff9830", "#f2495c", "#b877d9", "#8ab8ff"];
const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function legendOf(format: string, metric: Record<string, string>): string {
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => metric[name] ?? "");
}

async function rangeQuery(
  prometheus: string,
  expr: string,
  legend: string,
  minutes: number,
): Promise<Series[]> {
  const end = Date.now() / 1000;
  const params = new URLSearchParams({
    query: expr,
    start: String(end - minutes * 60),
    end: String(end),
    step: "5",
  });
  const answer = (await (await fetch(`${prometheus}/api/v1/query_range?${params.toString()}`)).json()) as {
    data?: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  return (answer.data?.result ?? []).map((r) => ({
    label: legendOf(legend, r.metric) || expr,
    points: r.values
      .map(([t, v]) => [t, Number(v)] as [number, number])
      .filter(([, v]) => Number.isFinite(v)),
  }));
}

function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return "–";
  if (unit === "percentunit") return `${(value * 100).toFixed(1)} %`;
  if (unit === "s") return value < 1 ? `${(value * 1000).toFixed(0)} ms` : `${value.toFixed(2)} s`;
  if (unit === "currencyRUB") return `${value.toFixed(0)} ₽`;
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function statHtml(panel: PanelSpec, series: Series[]): string {
  const last = series[0]?.points.at(-1)?.[1] ?? Number.NaN;
  return `<div class="panel stat"><h3>${escape(panel.title)}</h3><div class="value">${formatValue(last, panel.unit)}</div></div>`;
}

function graphHtml(panel: PanelSpec, series: Series[]): string {
  const [w, h] = [560, 170];
  const all = series.flatMap((s) => s.points);
  const [t0, t1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const vMax = Math.max(1e-9, ...all.map((p) => p[1]));
  const x = (t: number) => (t1 === t0 ? 0 : ((t - t0) / (t1 - t0)) * w);
  const y = (v: number) => h - (v / vMax) * (h - 10);
  const lines = series
    .map((s, i) => {
      const d = s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      return `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2" points="${d}"/>`;
    })
    .join("");
  const legend = series
    .map((s, i) => {
      const last = s.points.at(-1)?.[1] ?? Number.NaN;
      return `<span style="color:${COLORS[i % COLORS.length]}">■</span> ${escape(s.label)}: ${formatValue(last, panel.unit)}`;
    })
    .join(" &nbsp; ");
  const body =
    all.length === 0 ? `<div class="nodata">No data</div>` : `<svg width="${w}" height="${h}">${lines}</svg>`;
  return `<div class="panel"><h3>${escape(panel.title)}</h3>${body}<div class="legend">${legend}</div><div class="max">max ${formatValue(vMax, panel.unit)}</div></div>`;
}

export async function renderPreview(prometheus: string, uid: string, minutes: number): Promise<string> {
  const dashboard = DASHBOARDS.find((d) => d.uid === uid);
  if (dashboard === undefined)
    throw new Error(`no dashboard ${uid}; known: ${DASHBOARDS.map((d) => d.uid).join(", ")}`);
  const panels: string[] = [];
  for (const panel of dashboard.panels) {
    const series = (
      await Promise.all(panel.targets.map(([expr, legend]) => rangeQuery(prometheus, expr, legend, minutes)))
    ).flat();
    panels.push(panel.type === "stat" ? statHtml(panel, series) : graphHtml(panel, series));
  }
  return `<!doctype html><meta charset="utf-8"><title>${escape(dashboard.title)}</title>
<style>
body{background:#111217;color:#ccccdc;font:13px sans-serif;margin:16px}
h1{font-size:18px;margin:0 0 4px} p.note{color:#8e8e9e;margin:0 0 12px}
.grid{display:flex;flex-wrap:wrap;gap:8px}
.panel{background:#181b1f;border:1px solid #2c3235;border-radius:4px;padding:8px;width:580px;position:relative}
.panel.stat{width:283px} .panel h3{font-size:13px;margin:0 0 6px;color:#d8d9da}
.value{font-size:40px;color:#73bf69;text-align:center;padding:8px 0}
.legend{font-size:12px;margin-top:4px} .max{position:absolute;right:8px;top:8px;font-size:11px;color:#8e8e9e}
.nodata{height:170px;display:flex;align-items:center;justify-content:center;color:#8e8e9e}
</style>
<h1>${escape(dashboard.title)}</h1>
<p class="note">Grafana is not packaged for Debian: this page runs the dashboard's own queries (infra/grafana/dashboards/${uid}.json) against Prometheus's HTTP API (${escape(prometheus)}), last ${minutes} minutes, rendered ${new Date().toISOString()}.</p>
<div class="grid">${panels.join("\n")}</div>`;
}

const isMain = process.argv[1]?.endsWith("preview.ts") === true;
if (isMain) {
  const { values } = parseArgs({
    options: {
      prometheus: { type: "string", default: "http://127.0.0.1:9090" },
      dashboard: { type: "string", default: "billing-product" },
      out: { type: "string", default: "dashboard-preview.html" },
      minutes: { type: "string", default: "15" },
    },
  });
  writeFileSync(values.out, await renderPreview(values.prometheus, values.dashboard, Number(values.minutes)));
  console.log(`wrote ${values.out}`);
}
