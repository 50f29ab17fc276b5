// `npm run bench`: throughput and latency of billing through @billing/client, driven from a separate process by 64
// concurrent callers: Charge on random accounts and on one hot account, Reserve → Commit pairs (the
// job path), and Charge on a ledger pre-filled with millions of rows (billing only: its cost must
// not grow with history), and Charge on accounts that each hold 3 promo lots (billing only: within
// 20 % of random accounts) — side by side with two baselines measured in the same run:
//   memory  the same connect-node stack answering from process memory (the framework's ceiling)
//   seed    a straightforward one-transaction-per-request implementation of the seed design
// and the peak RSS of each server. Billing and the memory baseline are up together and measured in
// alternating rounds. Options: BENCH_DURATION_MS (per scenario), BENCH_ROUNDS, BENCH_USERS, BENCH_CONCURRENCY;
// BENCH_ONLY=billing,memory runs only those implementations, BENCH_SCENARIOS="random accounts,3 promo
// lots" only those scenarios; BENCH_CPU_PROFILE=<dir> writes each server's
// V8 CPU profiles there (summarise them with scripts/bench/profile-summary.ts); BENCH_PROTOCOL=grpc
// makes the load speak gRPC instead of the client's default, Connect; BILLING_* settings in the
// bench's environment reach billing.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type BillingProtocol, createBillingClient } from "@billing/client";
import { dropDatabase, freePort, type TestDatabase, testDatabase, testToken } from "@billing/testkit";
import { cpuMsOf, postgresCpuBetween, postgresCpuByPid } from "./cpu.js";
import { type FloodStats, startFlood } from "./flood.js";
import { buildTemplate, copyTemplate, counts, PREFILL, templateExists } from "./prefill.js";
import { nodeFlagsOf, settingsFromEnvironment } from "./settings.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 8_000);
const WARMUP_MS = 2_000;
const USERS = Number(process.env.BENCH_USERS ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const ONLY = process.env.BENCH_ONLY?.split(",").filter((name) => name !== "");
const SCENARIOS = process.env.BENCH_SCENARIOS?.split(",").filter((name) => name !== "");
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROFILE;
/** What the load generator's clients speak: @billing/client's default (Connect), or gRPC. */
const PROTOCOL = protocolOf(process.env.BENCH_PROTOCOL);
const BILLING_NODE_FLAGS = nodeFlagsOf("billing");

interface Result {
  implementation: string;
  scenario: string;
  ok: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: Record<string, number>;
  peakRssMb: number;
  /** CPU µs per operation over the measured window: the server process, PostgreSQL, the load generator. */
  serverCpuUs: number;
  postgresCpuUs: number;
  loaderCpuUs: number;
}

interface Server {
  url: string;
  token: string;
  adminToken: string;
  /** Commits holds (the worker's scope). */
  workerToken: string;
  child: ChildProcess;
  /** The server's database, if it has one (its backends' CPU is the server's PostgreSQL cost). */
  database: TestDatabase | undefined;
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

async function startBilling(database: TestDatabase = testDatabase("bench")): Promise<Server> {
  const port = await freePort();
  const metricsPort = await freePort();
  const bot = testToken("bot");
  const admin = testToken("admin");
  const worker = testToken("worker");
  const child = run(
    "apps/billing/dist/main.js",
    [...BILLING_NODE_FLAGS, ...cpuProfileFlags()],
    {
      // BILLING_* settings in the bench's environment reach billing, for experiments
      // (e.g. BILLING_LEDGER_BATCHES_IN_FLIGHT=1 npm run bench).
      ...settingsFromEnvironment("BILLING_"),
      DATABASE_URL: database.url,
      BILLING_HOST: "127.0.0.1",
      BILLING_PORT: String(port),
      BILLING_METRICS_PORT: String(metricsPort),
      BILLING_TOKENS: `${bot.entry},${admin.entry},${worker.entry}`,
      BILLING_OUTBOX_ENABLED: "false",
      LOG_LEVEL: process.env.BENCH_BILLING_LOG_LEVEL ?? "info",
    },
    "ignore",
  );
  await waitUntilReady(`http://127.0.0.1:${metricsPort}/readyz`, child);
  return {
    url: `http://127.0.0.1:${port}`,
    // Charge is an operator's call (no app's scope has it); the load charges as admin.
    token: admin.token,
    adminToken: admin.token,
    workerToken: worker.token,
    child,
    database,
    stop: stopper(child, () => database.drop()),
  };
}

function protocolOf(value: string | undefined): BillingProtocol {
  if (value === undefined || value === "" || value === "connect") return "connect";
  if (value === "grpc") return "grpc";
  throw new Error(`BENCH_PROTOCOL must be "connect" or "grpc", not ${JSON.stringify(value)}`);
}

function cpuProfileFlags(): string[] {
  return CPU_PROFILE_DIR === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${CPU_PROFILE_DIR}`];
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
    ["--conditions=source", "--import", "tsx", ...cpuProfileFlags()],
    database === undefined ? {} : { DATABASE_URL: database.url },
  );
  const port = await readPort(child);
  return {
    url: `http://127.0.0.1:${port}`,
    token: "unused",
    adminToken: "unused",
    workerToken: "unused",
    child,
    database,
    stop: stopper(child, async () => (database === undefined ? undefined : dropDatabase(database.name))),
  };
}

/** Promo lots per account in the lots scenario: every charge reads them all and draws on the first. */
const PROMO_LOTS = 3;
const DAY_MS = 24 * 3600 * 1000;

async function seed(server: Server, prefix: string, promoLots = 0): Promise<void> {
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
        for (let lot = 0; lot < promoLots; lot++)
          await admin.wallet.grant({
            userRef: `${prefix}:${id}`,
            amountCredits: 1_000_000n,
            reason: `bench promo ${lot}`,
            idempotencyKey: `seed-${prefix}-${id}-lot-${lot}`,
            expiresAt: {
              seconds: BigInt(Math.floor((Date.now() + 30 * DAY_MS) / 1000)) + BigInt(lot),
              nanos: 0,
            },
            priority: lot,
          });
      }),
    );
  }
  admin.close();
  bot.close();
}

type Mode = "charge" | "reserve-commit";

/** One load run's raw figures; rounds of one scenario are merged by `combine`. */
interface Measurement {
  ok: number;
  elapsedS: number;
  latenciesMs: number[];
  failures: Record<string, number>;
  serverCpuMs: number;
  postgresCpuMs: number;
  loaderCpuMs: number;
}

async function load(
  server: Server,
  prefix: string,
  hot: boolean,
  mode: Mode,
  durationMs = DURATION_MS,
): Promise<Measurement> {
  const serverPid = server.child.pid;
  const args = {
    url: server.url,
    token: server.token,
    workerToken: server.workerToken,
    users: USERS,
    hot,
    mode,
    concurrency: CONCURRENCY,
    durationMs,
    warmupMs: WARMUP_MS,
    connections: 4,
    prefix,
    protocol: PROTOCOL,
  };
  const loader = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", "scripts/bench/load.ts", JSON.stringify(args)],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  // CPU is read over the measured window only, at the marks the loader prints.
  let out = "";
  let serverCpu = 0;
  let loaderCpu = 0;
  const postgresReadings: Promise<Map<number, number>>[] = [];
  const readCpu = (sign: 1 | -1) => {
    serverCpu += sign * cpuMsOf(serverPid);
    loaderCpu += sign * cpuMsOf(loader.pid);
    postgresReadings.push(postgresCpuByPid(server.database));
  };
  loader.stdout.on("data", (chunk: Buffer) => {
    const text = chunk.toString();
    if (text.includes('"mark":"measuring"')) readCpu(-1);
    if (text.includes('"mark":"measured"')) readCpu(1);
    out += text;
  });
  await new Promise((resolve) => loader.once("exit", resolve));
  const [postgresBefore, postgresAfter] = await Promise.all(postgresReadings);
  const measured = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Omit<
    Measurement,
    "serverCpuMs" | "postgresCpuMs" | "loaderCpuMs"
  >;
  return {
    ...measured,
    serverCpuMs: serverCpu,
    loaderCpuMs: loaderCpu,
    postgresCpuMs: postgresCpuBetween(postgresBefore ?? new Map(), postgresAfter ?? new Map()),
  };
}

/** The rounds of one scenario on one server as one result: totals, and percentiles of all calls. */
function combine(rounds: readonly Measurement[]): Omit<Result, "implementation" | "scenario" | "peakRssMb"> {
  const ok = rounds.reduce((sum, r) => sum + r.ok, 0);
  const elapsedS = rounds.reduce((sum, r) => sum + r.elapsedS, 0);
  const latencies = rounds.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  const failures: Record<string, number> = {};
  for (const round of rounds)
    for (const [reason, count] of Object.entries(round.failures))
      failures[reason] = (failures[reason] ?? 0) + count;
  const perOp = (ms: number) => (1000 * ms) / Math.max(1, ok);
  return {
    ok,
    perSecond: ok / Math.max(elapsedS, 1e-9),
    p50Ms: pct(50),
    p99Ms: pct(99),
    failures,
    serverCpuUs: perOp(rounds.reduce((sum, r) => sum + r.serverCpuMs, 0)),
    postgresCpuUs: perOp(rounds.reduce((sum, r) => sum + r.postgresCpuMs, 0)),
    loaderCpuUs: perOp(rounds.reduce((sum, r) => sum + r.loaderCpuMs, 0)),
  };
}

function peakRssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match?.[1] === undefined ? 0 : Math.round(Number(match[1]) / 1024);
}

/** Billing on a copy of the pre-filled ledger (built once, then cached as a template database). */
async function startPrefilledBilling(): Promise<Server> {
  if (!(await templateExists())) {
    console.log(
      `building the pre-filled ledger once (${PREFILL.users * 2} accounts, ${PREFILL.users * PREFILL.grantsPerUser} transfers and keys)…`,
    );
    const source = testDatabase("bench_fill");
    // Billing creates and migrates it; the fill then goes in with SQL, billing stopped.
    const empty = await startBilling(source);
    const exited = new Promise((resolve) => empty.child.once("exit", resolve));
    empty.child.kill("SIGTERM");
    await exited;
    await buildTemplate(source.name);
    await source.drop();
  }
  const database = testDatabase("bench_prefilled");
  await copyTemplate(database.name);
  const filled = await counts(database.url);
  console.log(
    `pre-filled ledger: ${filled.accounts} accounts, ${filled.transfers} transfers, ${filled.keys} idempotency keys`,
  );
  return startBilling(database);
}

interface Scenario {
  name: string;
  hot: boolean;
  mode: Mode;
  /** Run while a second process floods unauthenticated 1 MiB bodies. */
  flooded?: boolean;
  /** Promo lots each account is seeded with (the implementation runs this scenario alone). */
  promoLots?: number;
}
const CHARGE_RANDOM: Scenario = { name: "random accounts", hot: false, mode: "charge" };
const CHARGE_HOT: Scenario = { name: "one hot account", hot: true, mode: "charge" };
const PAIRS: Scenario = { name: "reserve → commit", hot: false, mode: "reserve-commit" };
const PREFILLED: Scenario = { name: "pre-filled ledger", hot: false, mode: "charge" };
const FLOODED: Scenario = { name: "random + flood", hot: false, mode: "charge", flooded: true };
const PROMO: Scenario = {
  name: `${PROMO_LOTS} promo lots`,
  hot: false,
  mode: "charge",
  promoLots: PROMO_LOTS,
};

/**
 * Billing and the memory baseline run side by side: both servers up, and each scenario in ROUNDS
 * rounds that alternate which goes first (billing, memory, memory, billing, …), so that a machine
 * whose speed drifts during the run (two shared cores) weighs on both alike.
 */
const SIDE_BY_SIDE: [string, () => Promise<Server>][] = [
  ["billing", () => startBilling()],
  ["memory", () => startBaseline("scripts/bench/memory-server.ts", false)],
];
const SIDE_BY_SIDE_SCENARIOS = [CHARGE_RANDOM, CHARGE_HOT, PAIRS, FLOODED];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
/** Servers measured alone: what billing is compared with itself on, and the seed design. */
const ALONE: [string, () => Promise<Server>, Scenario[]][] = [
  ["billing", startPrefilledBilling, [PREFILLED]],
  ["billing", () => startBilling(), [PROMO]],
  ["seed", () => startBaseline("scripts/bench/seed-server.ts", true), [CHARGE_RANDOM, CHARGE_HOT]],
];

const results: Result[] = [];
const floods = new Map<string, FloodStats | undefined>();
console.log(
  `${CONCURRENCY} concurrent callers over ${PROTOCOL === "grpc" ? "gRPC" : "Connect"}, ${DURATION_MS / 1000}s per scenario (billing and memory: in ${ROUNDS} alternating rounds) after ${WARMUP_MS / 1000}s warm-up, ${USERS} accounts under load`,
);
const wanted = (implementation: string) => ONLY === undefined || ONLY.includes(implementation);
const chosen = (all: readonly Scenario[]) =>
  all.filter((scenario) => SCENARIOS === undefined || SCENARIOS.includes(scenario.name));

/** One load run of `scenario` on `server`, with the flood beside it if the scenario has one. */
async function measure(
  implementation: string,
  server: Server,
  scenario: Scenario,
  durationMs: number,
): Promise<Measurement> {
  const prefix = `bench-${implementation}${(scenario.promoLots ?? 0) > 0 ? "-lots" : ""}`;
  // A second process floods unauthenticated 1 MiB bodies (scripts/bench/flood.ts) during the load.
  const flood = scenario.flooded === true ? startFlood(server.url) : undefined;
  const measured = await load(server, prefix, scenario.hot, scenario.mode, durationMs);
  if (flood !== undefined) floods.set(implementation, await flood.stop());
  return measured;
}

const sideBySide = SIDE_BY_SIDE.filter(([implementation]) => wanted(implementation));
const pairedScenarios = chosen(SIDE_BY_SIDE_SCENARIOS);
if (sideBySide.length > 0 && pairedScenarios.length > 0) {
  const servers: [string, Server][] = [];
  try {
    for (const [implementation, start] of sideBySide) {
      const server = await start();
      servers.push([implementation, server]);
      await seed(server, `bench-${implementation}`);
    }
    for (const scenario of pairedScenarios) {
      const rounds = new Map<string, Measurement[]>();
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? servers : [...servers].reverse();
        for (const [implementation, server] of order) {
          const measured = await measure(implementation, server, scenario, DURATION_MS / ROUNDS);
          rounds.set(implementation, [...(rounds.get(implementation) ?? []), measured]);
        }
      }
      for (const [implementation, server] of servers) {
        results.push({
          implementation,
          scenario: scenario.name,
          ...combine(rounds.get(implementation) ?? []),
          peakRssMb: peakRssMb(server.child.pid),
        });
      }
    }
  } finally {
    for (const [, server] of servers) await server.stop();
  }
}

for (const [implementation, start, all] of ALONE) {
  const scenarios = chosen(all);
  if (!wanted(implementation) || scenarios.length === 0) continue;
  const server = await start();
  try {
    const promoLots = scenarios[0]?.promoLots ?? 0;
    await seed(server, `bench-${implementation}${promoLots > 0 ? "-lots" : ""}`, promoLots);
    for (const scenario of scenarios) {
      results.push({
        implementation,
        scenario: scenario.name,
        ...combine([await measure(implementation, server, scenario, DURATION_MS)]),
        peakRssMb: peakRssMb(server.child.pid),
      });
    }
  } finally {
    await server.stop();
  }
}

const pad = (value: string | number, width: number) => String(value).padStart(width);
console.log("");
console.log(
  `${"implementation".padEnd(15)}${"scenario".padEnd(20)}${pad("ops/s", 11)}${pad("p50 ms", 9)}${pad("p99 ms", 9)}${pad("peak RSS MB", 13)}${pad("CPU µs/op", 11)}${pad("pg µs/op", 10)}${pad("load µs/op", 12)}  failures`,
);
for (const r of results) {
  console.log(
    `${r.implementation.padEnd(15)}${r.scenario.padEnd(20)}${pad(r.perSecond.toFixed(0), 11)}${pad(r.p50Ms.toFixed(1), 9)}${pad(r.p99Ms.toFixed(1), 9)}${pad(r.peakRssMb, 13)}${pad(r.serverCpuUs.toFixed(0), 11)}${pad(r.postgresCpuUs.toFixed(0), 10)}${pad(r.loaderCpuUs.toFixed(0), 12)}  ${JSON.stringify(r.failures)}`,
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
printTargets(results);
process.exit(0);

/** The targets, read off this run: billing against the memory baseline, and against itself. */
function printTargets(rows: readonly Result[]): void {
  const of = (implementation: string, scenario: string) =>
    rows.find((r) => r.implementation === implementation && r.scenario === scenario);
  console.log("");
  for (const scenario of [CHARGE_RANDOM, CHARGE_HOT, PAIRS]) {
    const billing = of("billing", scenario.name);
    const memory = of("memory", scenario.name);
    if (billing === undefined || memory === undefined) continue;
    console.log(
      `${scenario.name.padEnd(20)} billing/memory throughput ${((100 * billing.perSecond) / memory.perSecond).toFixed(0)} % (≥ 70 %), p99 ${(billing.p99Ms / memory.p99Ms).toFixed(2)}× (≤ 1.5×), RSS +${billing.peakRssMb - memory.peakRssMb} MB (≤ +64)`,
    );
  }
  // What the throughput ratio hides on a shared machine: the CPU each implementation spends per call.
  for (const scenario of [CHARGE_RANDOM, PAIRS]) {
    const billing = of("billing", scenario.name);
    const memory = of("memory", scenario.name);
    if (billing === undefined || memory === undefined) continue;
    console.log(
      `${scenario.name.padEnd(20)} CPU per call: billing ${billing.serverCpuUs.toFixed(0)} µs + PostgreSQL ${billing.postgresCpuUs.toFixed(0)} µs, memory ${memory.serverCpuUs.toFixed(0)} µs; the load generator ${billing.loaderCpuUs.toFixed(0)} / ${memory.loaderCpuUs.toFixed(0)} µs`,
    );
  }
  const empty = of("billing", CHARGE_RANDOM.name);
  const lots = of("billing", PROMO.name);
  if (empty !== undefined && lots !== undefined) {
    console.log(
      `${PROMO.name.padEnd(20)} throughput ${((100 * lots.perSecond) / empty.perSecond).toFixed(0)} % of random accounts' (≥ 80 %)`,
    );
  }
  const filled = of("billing", PREFILLED.name);
  if (empty !== undefined && filled !== undefined) {
    console.log(
      `${PREFILLED.name.padEnd(20)} throughput ${((100 * filled.perSecond) / empty.perSecond).toFixed(0)} % of the empty ledger's (≥ 85 %)`,
    );
  }
}
