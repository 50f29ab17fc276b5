// `npm run chaos [-- --callers 64 --duration-ms 15000 --users 100 --jobs 300]`
//
// Scale-out under failure, on this machine, with processes the script starts and stops itself:
//   1. two billing instances on one fresh PostgreSQL database (dropped afterwards), outbox on; the
//      load is split across them, one is killed with SIGKILL mid-run and restarted; holds expire;
//   2. a 3-node JetStream cluster (nats-server from Debian, routes on loopback, stores in a temp
//      dir, free ports), R3 streams and buckets, billing and two workers; the JOBS leader is killed
//      mid-run, then the meta leader in a second run;
//   3. a worker started against a cluster with no meta leader (1 of 3 nodes up).
// Each scenario audits what it did; the figures are printed as one table. Exit 1 if a check failed.
// Everything is bounded: each wait has a limit and the whole run a deadline.
import { parseArgs } from "node:util";
import { natsCluster } from "@billing/testkit";
import { billingPair } from "./billing-pair.js";
import { allFigures, Cleanup, metaLeader, poll, printTable } from "./common.js";
import { jobsCluster } from "./jobs-cluster.js";
import { noLeader } from "./no-leader.js";

const { values } = parseArgs({
  options: {
    callers: { type: "string", default: "64" },
    "duration-ms": { type: "string", default: "15000" },
    users: { type: "string", default: "100" },
    jobs: { type: "string", default: "300" },
  },
});
const DEADLINE_MS = 15 * 60_000;
const cleanup = new Cleanup();
const rows = allFigures;

const abort = (why: string, code: number) => {
  console.error(`${why}: stopping everything this run started`);
  void cleanup.run().finally(() => process.exit(code));
};
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => abort(signal, 130));
setTimeout(() => abort(`deadline of ${DEADLINE_MS / 60_000} min passed`, 1), DEADLINE_MS).unref();

const step = (what: string) => console.error(`[chaos ${new Date().toISOString().slice(11, 19)}] ${what}`);

try {
  step("starting a 3-node JetStream cluster");
  const cluster = await natsCluster("chaos", 3);
  cleanup.add("chaos cluster", () => cluster.close());
  await Promise.all(cluster.nodes.map((node) => node.start()));
  const formed = await poll(
    async () => ((await metaLeader(cluster.nodes[0] ?? never())) === "" ? undefined : true),
    60_000,
  );
  if (formed !== true) throw new Error("the cluster elected no meta leader within 60 s");

  step("1: two billing instances, one killed with SIGKILL mid-run");
  await billingPair({
    cluster,
    cleanup,
    callers: Number(values.callers),
    durationMs: Number(values["duration-ms"]),
    users: Number(values.users),
  });
  step("2: billing and two workers on the cluster; the JOBS leader, then the meta leader killed");
  const jobs = await jobsCluster({ cluster, cleanup, jobs: Number(values.jobs) });
  step("3: a worker started while the cluster has no meta leader");
  await noLeader({ cleanup, billing: jobs.billing });
} catch (error) {
  console.error(error);
  rows.push({ scenario: "run", figure: "unexpected failure", value: String(error).slice(0, 300), ok: false });
} finally {
  step("stopping everything this run started");
  await cleanup.run();
}
printTable(rows);
const failed = rows.filter((row) => row.ok === false);
console.log(failed.length === 0 ? "\nall checks held" : `\n${failed.length} check(s) FAILED`);
process.exit(failed.length === 0 ? 0 : 1);

function never(): never {
  throw new Error("the cluster has no nodes");
}
