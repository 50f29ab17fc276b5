// A real Prometheus (Debian's binary) in a temporary directory on a free port, scraping given targets
// every second with the repository's rule files — their groups' intervals shortened to one second,
// the expressions untouched — and a small client of its HTTP API.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@billing/testkit";
import { parse, stringify } from "yaml";
import { requireBinary } from "./binaries.js";
import { infraText } from "./files.js";

export interface PrometheusServer {
  readonly url: string;
  /** The instant value of a query, by its labels (JSON of the metric's labels). */
  query(expr: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  /** The raw answer of /api/v1/query (status "success" or "error" with the parser's message). */
  queryRaw(expr: string): Promise<{ status: string; error?: string }>;
  targets(): Promise<{ labels: Record<string, string>; health: string; lastError: string }[]>;
  logs(): string;
  close(): Promise<void>;
}

const RULE_FILES = ["rules.yml", "alerts.yml"] as const;

function fastRules(file: string): string {
  const rules = parse(infraText(`prometheus/${file}`)) as { groups: { interval?: string }[] };
  for (const group of rules.groups) group.interval = "1s";
  return stringify(rules);
}

export async function startPrometheus(targets: Record<string, string>): Promise<PrometheusServer> {
  const binary = requireBinary("prometheus");
  const dir = mkdtempSync(join(tmpdir(), "prometheus-test-"));
  const port = await freePort();
  const config = {
    global: { scrape_interval: "1s", evaluation_interval: "1s" },
    scrape_configs: [
      {
        job_name: "billing-core-test",
        static_configs: Object.entries(targets).map(([app, target]) => ({
          targets: [target],
          labels: { app },
        })),
      },
    ],
    rule_files: [...RULE_FILES],
  };
  writeFileSync(join(dir, "prometheus.yml"), stringify(config));
  for (const file of RULE_FILES) writeFileSync(join(dir, file), fastRules(file));
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let logs = "";
  child.stdout?.on("data", (chunk: Buffer) => (logs = (logs + chunk.toString()).slice(-50_000)));
  child.stderr?.on("data", (chunk: Buffer) => (logs = (logs + chunk.toString()).slice(-50_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const api = async <T>(path: string): Promise<{ status: string; error?: string; data: T }> =>
    (await (await fetch(`${url}${path}`)).json()) as { status: string; error?: string; data: T };

  const server: PrometheusServer = {
    url,
    async query(expr) {
      const answer = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      if (answer.status !== "success") throw new Error(`query ${expr}: ${answer.error ?? answer.status}`);
      return answer.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    queryRaw: (expr) => api(`/api/v1/query?query=${encodeURIComponent(expr)}`),
    async targets() {
      const answer = await api<{
        activeTargets: { labels: Record<string, string>; health: string; lastError: string }[];
      }>("/api/v1/targets");
      return answer.data.activeTargets;
    },
    logs: () => logs,
    async close() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (const deadline = Date.now() + 20_000; ;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited:\n${logs}`);
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.close();
      throw new Error(`prometheus not ready within 20 s:\n${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
