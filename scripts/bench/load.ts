// Load generator, run as its own process so it does not share a CPU budget with the server under
// test: `concurrency` callers issue Charge (or Reserve then Commit, the job path) back to back for
// `durationMs`, on random accounts or on one hot account, and print one JSON line with the calls
// that succeeded, the time measured and each call's latency (a Reserve → Commit pair counts once,
// its latency end to end).
import { type BillingProtocol, createBillingClient, errorReason } from "@billing/client";

interface Args {
  url: string;
  token: string;
  workerToken: string;
  users: number;
  hot: boolean;
  mode: "charge" | "reserve-commit";
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  connections: number;
  prefix: string;
  protocol: BillingProtocol;
}

const args = JSON.parse(process.argv[2] ?? "{}") as Args;
const clientsOf = (token: string) =>
  Array.from({ length: args.connections }, () =>
    createBillingClient({
      baseUrl: args.url,
      token,
      timeoutMs: 30_000,
      maxAttempts: 1,
      protocol: args.protocol,
    }),
  );
const clients = clientsOf(args.token);
// Holds are committed as the worker commits them, with its own scope.
const committers = args.mode === "reserve-commit" ? clientsOf(args.workerToken) : [];

const latenciesMs: number[] = [];
const failures = new Map<string, number>();
let ok = 0;
let measuring = false;
let sequence = 0;
const runId = `${process.pid}-${Date.now()}`;

async function caller(index: number, until: number): Promise<void> {
  const client = clients[index % clients.length];
  const committer = committers[index % Math.max(1, committers.length)];
  if (client === undefined) return;
  while (Date.now() < until) {
    const user = args.hot ? 0 : Math.floor(Math.random() * args.users);
    const started = performance.now();
    try {
      const userRef = `${args.prefix}:${user}`;
      const idempotencyKey = `bench-${runId}-${sequence++}`;
      if (args.mode === "charge") {
        await client.wallet.charge({ userRef, operation: "generate", idempotencyKey });
      } else {
        const { hold } = await client.wallet.reserve({ userRef, operation: "generate", idempotencyKey });
        await (committer ?? client).wallet.commit({ holdId: hold?.holdId ?? "" });
      }
      if (measuring) {
        ok++;
        latenciesMs.push(performance.now() - started);
      }
    } catch (error) {
      if (measuring) {
        const reason = errorReason(error) ?? (error instanceof Error ? error.message.slice(0, 60) : "error");
        failures.set(reason, (failures.get(reason) ?? 0) + 1);
      }
    }
  }
}

const start = Date.now();
const end = start + args.warmupMs + args.durationMs;
// The parent reads the servers' CPU time at these two marks, so it covers the measured window only.
setTimeout(() => {
  measuring = true;
  console.log(JSON.stringify({ mark: "measuring" }));
}, args.warmupMs);
const measureStart = start + args.warmupMs;
await Promise.all(Array.from({ length: args.concurrency }, (_, i) => caller(i, end)));
console.log(JSON.stringify({ mark: "measured" }));
const elapsedS = (Date.now() - measureStart) / 1000;
// Each call's latency: the parent merges the rounds of a scenario into one set of percentiles.
console.log(
  JSON.stringify({
    ok,
    elapsedS,
    failures: Object.fromEntries(failures),
    latenciesMs: latenciesMs.map((ms) => Math.round(ms * 100) / 100),
  }),
);
for (const client of [...clients, ...committers]) client.close();
process.exit(0);
