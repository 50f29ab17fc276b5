// Scenario 3: a worker started against a 3-node cluster of which one node is up, so JetStream has no
// meta leader and every set-up call (stream, consumer, bucket) times out. The worker must wait, not
// ready and not exiting; once the other two nodes start it becomes ready and takes jobs.
import { createBillingClient } from "@billing/client";
import { connectNats, jetstream, natsNames } from "@billing/events";
import { type BillingProcess, natsCluster, uniqueName } from "@billing/testkit";
import { type Cleanup, figures, metaLeader, poll, query, sleep } from "./common.js";
import { startWorkerProcess, submitJob, workerEnv } from "./jobs-cluster.js";

/** The worker is watched without a leader until it has logged a failed set-up, within these bounds. */
const LEADERLESS_MIN_MS = 8_000;
const LEADERLESS_MAX_MS = 40_000;

export async function noLeader(options: { cleanup: Cleanup; billing: BillingProcess }) {
  const report = figures("3. worker vs. no meta leader");
  const { cleanup, billing } = options;
  const cluster = await natsCluster("chaos-nl", 3);
  cleanup.add("leaderless cluster", () => cluster.close());
  const [first, ...others] = cluster.nodes;
  if (first === undefined) throw new Error("no nodes");
  await first.start();
  const names = natsNames(uniqueName("chaos_noleader"));
  // At "warn" its log shows the set-up retries (the first, then every 10th attempt).
  const env = { ...(await workerEnv(cluster.url, names, billing)), LOG_LEVEL: "warn" };
  const worker = startWorkerProcess(env, cleanup, "leaderless worker");

  // While only one of three nodes is up: no meta leader, the worker stays up and says not ready.
  let probes = 0;
  let readyAnswers = 0;
  const started = Date.now();
  const setUpFailures = () =>
    worker.app
      .logs()
      .split("\n")
      .filter((line) => line.includes('"stage":"set-up"')).length;
  while (Date.now() - started < LEADERLESS_MAX_MS) {
    if (Date.now() - started >= LEADERLESS_MIN_MS && setUpFailures() >= 1) break;
    const status = await fetch(worker.readyUrl).then(
      (response) => response.status,
      () => 0,
    );
    probes++;
    if (status === 200) readyAnswers++;
    await sleep(250);
  }
  report.check(
    "meta leader while 1 of 3 nodes is up",
    (await metaLeader(first)) || "none",
    (await metaLeader(first)) === "",
  );
  report.check(
    `/readyz 200 answers in ${((Date.now() - started) / 1000).toFixed(0)} s without a leader`,
    `${readyAnswers} of ${probes}`,
    readyAnswers === 0,
  );
  report.check(
    "worker still running",
    worker.app.child.exitCode === null ? "yes" : `exited ${worker.app.child.exitCode}`,
    worker.app.child.exitCode === null,
  );

  const setUpRetries = setUpFailures();
  report.check("set-up timeouts logged (1st, then every 10th)", setUpRetries, setUpRetries > 0);

  const formingAt = performance.now();
  await Promise.all(others.map((node) => node.start()));
  const ready = await poll(
    async () => ((await fetch(worker.readyUrl)).status === 200 ? true : undefined),
    90_000,
  );
  const readyAfterMs = performance.now() - formingAt;
  report.check(
    "other nodes started → worker ready",
    ready === true ? `${(readyAfterMs / 1000).toFixed(1)} s` : "> 90 s",
    ready === true,
  );

  // And it works: one job through it.
  const nc = await connectNats({ servers: cluster.url, name: "chaos-nl-bot" });
  const bot = createBillingClient({ baseUrl: billing.url, token: billing.tokens.bot, timeoutMs: 10_000 });
  try {
    const userRef = "telegram:9000001";
    await bot.wallet.openAccount({ userRef });
    await submitJob(bot, jetstream(nc), names, "nl-1", userRef);
    const posted = await poll(async () => {
      const rows = await query<{ state: string }>(
        billing.database.url,
        `select state from ledger_holds where job_id = 'nl-1'`,
      );
      return rows[0]?.state === "POSTED" ? true : undefined;
    }, 60_000);
    report.check(
      "a job after that",
      posted === true ? "completed, hold POSTED" : "not completed",
      posted === true,
    );
  } finally {
    bot.close();
    await nc.close();
  }
  report.check(
    "worker exits",
    worker.app.child.exitCode === null ? 0 : 1,
    worker.app.child.exitCode === null,
  );
}
