// `npm run bench`: Charge throughput and latency of billing over gRPC, driven from a separate process
// by 64 concurrent callers, on random accounts and on one hot account — side by side with two
// baselines measured in the same run on the same machine:
//   memory  the same connect-node stack answering from process memory (the framework's ceiling)
//   seed    a straightforward one-transaction-per-request implementation of the seed design
// and the peak RSS of each server. Options: BENCH_DURATION_MS, BENCH_USERS, BENCH_CONCURRENCY.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createBillingClient } from "@billing/client";
import { dropDatabase, freePort, testDatabase, testToken } from "@billing/testkit";
import { type FloodStats, startFlood } from "./flood.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 8_000);
const WARMUP_MS = 2_000;
const USERS = Number(process.env.BENCH_USERS ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);

interface Result {
  implementation: string;
  scenario: string;
  ok: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: Record<string, number>;
  peakRssMb: number;
}

interface Server {
  url: string;
  token: string;
  adminToken: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

function run(
  script: string,
  args: string[],
  env: Record<string, string>,
  stdout: "pipe" | "ignore" = "pipe",
): ChildProcess {
  return spawn(process.execPath, [...args, script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", stdout, "inherit"],
  });
}

async function readPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split("\n").find((l) => l.startsWith("{"));
      if (line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

function stopper(child: ChildProcess, cleanup: () => Promise<void> = () => Promise.resolve()) {
  return async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
    await cleanup();
  };
}

async function startBilling(): Promise<Server> {
  const database = testDatabase("bench");
  const port = await freePort();
  const metricsPort = await freePort();
  const bot = testToken("bot");
  const admin = testToken("admin");
  const child = run(
    "apps/billing/dist/main.js",
    [],
    {
      DATABASE_URL: database.url,
      BILLING_HOST: "127.0.0.1",
      BILLING_PORT: String(port),
      BILLING_METRICS_PORT: String(metricsPort),
      BILLING_TOKENS: `${bot.entry},${admin.entry}`,
      BILLING_OUTBOX_ENABLED: "false",
      LOG_LEVEL: "info",
    },
    "ignore",
  );
  await waitUntilReady(`http://127.0.0.1:${metricsPort}/readyz`, child);
  return {
    url: `http://127.0.0.1:${port}`,
    // Charge is an operator's call (no app's scope has it); the load charges as admin.
    token: admin.token,
    adminToken: admin.token,
    child,
    stop: stopper(child, () => database.drop()),
  };
}

async function waitUntilReady(url: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) throw new Error(`billing exited with ${child.exitCode}`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`billing not ready at ${url}`);
}

async function startBaseline(script: string, withDatabase: boolean): Promise<Server> {
  const database = withDatabase ? testDatabase("bench_seed") : undefined;
  const child = run(
    script,
    ["--conditions=source", "--import", "tsx"],
    database === undefined ? {} : { DATABASE_URL: database.url },
  );
  const port = await readPort(child);
  return {
    url: `http://127.0.0.1:${port}`,
    token: "unused",
    adminToken: "unused",
    child,
    stop: stopper(child, async () => (database === undefined ? undefined : dropDatabase(database.name))),
  };
}

async function seed(server: Server, prefix: string): Promise<void> {
  const admin = createBillingClient({ baseUrl: server.url, token: server.adminToken, timeoutMs: 60_000 });
  const bot = createBillingClient({ baseUrl: server.url, token: server.token, timeoutMs: 60_000 });
  const ids = Array.from({ length: USERS }, (_, i) => i);
  for (let i = 0; i < ids.length; i += 100) {
    await Promise.all(
      ids.slice(i, i + 100).map(async (id) => {
        await bot.wallet.openAccount({ userRef: `${prefix}:${id}` });
        await admin.wallet.grant({
          userRef: `${prefix}:${id}`,
          amountCredits: 1_000_000_000n,
          reason: "bench",
          idempotencyKey: `seed-${prefix}-${id}`,
        });
      }),
    );
  }
  admin.close();
  bot.close();
}

async function load(
  server: Server,
  prefix: string,
  hot: boolean,
): Promise<Omit<Result, "implementation" | "scenario" | "peakRssMb">> {
  const args = {
    url: server.url,
    token: server.token,
    users: USERS,
    hot,
    concurrency: CONCURRENCY,
    durationMs: DURATION_MS,
    warmupMs: WARMUP_MS,
    connections: 4,
    prefix,
  };
  const loader = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", "scripts/bench/load.ts", JSON.stringify(args)],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  loader.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => loader.once("exit", resolve));
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Omit<
    Result,
    "implementation" | "scenario" | "peakRssMb"
  >;
}

function peakRssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match?.[1] === undefined ? 0 : Math.round(Number(match[1]) / 1024);
}

const implementations: [string, () => Promise<Server>][] = [
  ["billing", startBilling],
  ["memory", () => startBaseline("scripts/bench/memory-server.ts", false)],
  ["seed", () => startBaseline("scripts/bench/seed-server.ts", true)],
];

const results: Result[] = [];
const floods = new Map<string, FloodStats | undefined>();
console.log(
  `Charge over gRPC: ${CONCURRENCY} concurrent callers, ${DURATION_MS / 1000}s per scenario after ${WARMUP_MS / 1000}s warm-up, ${USERS} accounts`,
);
for (const [implementation, start] of implementations) {
  const server = await start();
  try {
    const prefix = `bench-${implementation}`;
    await seed(server, prefix);
    for (const [scenario, hot, flooded] of [
      ["random accounts", false, false],
      ["one hot account", true, false],
      ["random + flood", false, true],
    ] as const) {
      // A second process floods unauthenticated 1 MiB bodies (scripts/bench/flood.ts) during the load.
      const flood = flooded ? startFlood(server.url) : undefined;
      const measured = await load(server, prefix, hot);
      floods.set(implementation, await flood?.stop());
      results.push({ implementation, scenario, ...measured, peakRssMb: peakRssMb(server.child.pid) });
    }
  } finally {
    await server.stop();
  }
}

const pad = (value: string | number, width: number) => String(value).padStart(width);
console.log("");
console.log(
  `${"implementation".padEnd(15)}${"scenario".padEnd(18)}${pad("charges/s", 11)}${pad("p50 ms", 9)}${pad("p99 ms", 9)}${pad("peak RSS MB", 13)}  failures`,
);
for (const r of results) {
  console.log(
    `${r.implementation.padEnd(15)}${r.scenario.padEnd(18)}${pad(r.perSecond.toFixed(0), 11)}${pad(r.p50Ms.toFixed(1), 9)}${pad(r.p99Ms.toFixed(1), 9)}${pad(r.peakRssMb, 13)}  ${JSON.stringify(r.failures)}`,
  );
}
for (const [implementation, flood] of floods) {
  const rate = (scenario: string) =>
    results.find((r) => r.implementation === implementation && r.scenario === scenario)?.perSecond ?? 0;
  const share = (100 * rate("random + flood")) / Math.max(1, rate("random accounts"));
  console.log(
    `${implementation} under flood: ${share.toFixed(0)} % of random accounts; flood ${JSON.stringify(flood)}`,
  );
}
process.exit(0);
