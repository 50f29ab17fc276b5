// The tables `npm run bench:jobs` prints: throughput and latency per row, then where a full-pipeline
// job's time and CPU went.
import { CPU_PARTS, type CpuReading, type Row } from "./jobs-measure.js";

const CPU_COLUMNS: Readonly<Record<keyof CpuReading, string>> = {
  workers: "worker(s)",
  billing: "billing",
  postgres: "PostgreSQL",
  nats: "NATS",
  bench: "bench (bot's part)",
};

/** A Markdown table with padded columns. */
export function markdownTable(header: string[], rows: string[][]): string {
  const table = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...table.map((row) => (row[c] ?? "").length)));
  const line = (row: string[]) => `| ${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

export function printTables(measured: Row[]): void {
  const ms = (value: number | undefined) =>
    value === undefined || Number.isNaN(value) ? "—" : value.toFixed(1);
  const cpuMs = (value: number | undefined) =>
    value === undefined || Number.isNaN(value) ? "—" : value.toFixed(2);
  console.log(
    `\n${markdownTable(
      [
        "pipeline",
        "load",
        "workers × concurrency",
        "jobs",
        "jobs/s",
        "e2e p50 ms",
        "e2e p99 ms",
        "publish→completed p50 / p99 ms",
        "worker peak RSS MiB",
        "billing peak RSS MiB",
      ],
      measured.map((r) => [
        r.pipeline,
        r.load,
        r.workers,
        String(r.jobs),
        (r.jobs / r.seconds).toFixed(0),
        ms(r.p50),
        ms(r.p99),
        `${ms(r.queueP50)} / ${ms(r.queueP99)}`,
        r.workerRss,
        r.billingRss,
      ]),
    )}`,
  );
  const profiled = measured.filter((r) => r.profile !== undefined);
  const steps = [...new Set(profiled.flatMap((r) => [...(r.profile?.stepsMs.keys() ?? [])]))];
  const procedures = [...new Set(profiled.flatMap((r) => [...(r.profile?.billing.keys() ?? [])]))];
  console.log(
    `\nWhere a job's time went (mean ms per completed job; billing: server ms per call × calls per job; CPU ms per job):\n${markdownTable(
      [
        "row",
        "worker handler",
        ...steps.map((s) => `${s}`),
        ...procedures.map((p) => `billing ${p}`),
        ...CPU_PARTS.map((part) => `CPU ${CPU_COLUMNS[part]}`),
      ],
      profiled.map((r) => [
        `${r.workers}, ${r.load}`,
        ms(r.profile?.handlerMs),
        ...steps.map((s) => ms(r.profile?.stepsMs.get(s))),
        ...procedures.map((p) => {
          const call = r.profile?.billing.get(p);
          return call === undefined ? "—" : `${ms(call.ms)} × ${call.perJob.toFixed(2)}`;
        }),
        ...CPU_PARTS.map((part) => cpuMs(r.profile?.cpuMs[part])),
      ]),
    )}`,
  );
}
