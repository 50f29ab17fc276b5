// Scenario 2: billing (outbox on) and two workers on the 3-node cluster, R3 streams and buckets. The
// script does the bot's part (Reserve, publish the job) for N jobs per run and kills a node mid-run:
// the JOBS stream's leader in the first run, the meta leader in the second. Audit per run: every
// job completed exactly once (hold POSTED, one completed event) or released (VOIDED, failed event),
// JOBS drained, the time until every stream had a leader again; at the end outbox == stream and no
// process exited.
import { create, fromBinary } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { type BillingClient, createBillingClient } from "@billing/client";
import {
  connectNats,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type NatsConnection,
  natsNames,
  type NatsNames,
  publishGenerationRequested,
} from "@billing/events";
import {
  GenerationCompletedSchema,
  GenerationFailedSchema,
  GenerationRequestedSchema,
} from "@billing/proto/events/v1/jobs_pb";
import {
  type AppProcess,
  type BillingProcess,
  freePort,
  type NatsCluster,
  type NatsNode,
  spawnApp,
  startBillingProcess,
  uniqueName,
  waitForHttpOk,
} from "@billing/testkit";
import {
  type Cleanup,
  figures,
  metaLeader,
  outboxAgainstStream,
  poll,
  query,
  readStream,
  streamLeader,
  timeToLeaders,
} from "./common.js";

export interface JobsClusterOptions {
  cluster: NatsCluster;
  cleanup: Cleanup;
  jobs: number;
}

const USERS = 50;
const SUBMITTERS = 8;

/** The worker's environment against `natsUrl` and `billing` (also used by scenario 3). */
export async function workerEnv(natsUrl: string, names: NatsNames, billing: BillingProcess) {
  return {
    NATS_URL: natsUrl,
    NATS_NAMESPACE: names.namespace,
    NATS_STREAM_REPLICAS: "3",
    BILLING_URL: billing.url,
    BILLING_TOKEN: billing.tokens.worker,
    WORKER_OPS_HOST: "127.0.0.1",
    WORKER_OPS_PORT: String(await freePort()),
    WORKER_CONCURRENCY: "8",
    WORKER_LOCAL_DELAY_MS: "50",
    WORKER_ACK_WAIT_MS: "10000",
    LOG_LEVEL: "error",
  };
}

export function startWorkerProcess(env: Record<string, string>, cleanup: Cleanup, label: string) {
  const app = spawnApp("worker", env);
  cleanup.add(label, () => app.stop());
  return { app, readyUrl: `http://127.0.0.1:${env.WORKER_OPS_PORT}/readyz` };
}

/** The bot's part of flow 2 for one job: Reserve (key = job id), then publish it, retried on timeouts. */
export async function submitJob(
  bot: BillingClient,
  js: JetStreamClient,
  names: NatsNames,
  jobId: string,
  userRef: string,
) {
  const reserved = await bot.wallet.reserve({
    userRef,
    operation: "generate",
    idempotencyKey: jobId,
    jobId,
    timeout: durationFromMs(10 * 60_000),
  });
  const job = create(GenerationRequestedSchema, {
    jobId,
    userRef,
    operation: "generate",
    holdId: reserved.hold?.holdId ?? "",
    prompt: "chaos",
    chatId: 42n,
    locale: "en",
  });
  // Nats-Msg-Id = job id: a publish repeated after a lost PubAck is dropped by the stream.
  await publishGenerationRequested(js, names, job, { timeoutMs: 3_000, maxAttempts: 10 });
}

export async function jobsCluster(options: JobsClusterOptions) {
  const report = figures("2. 3-node JetStream cluster");
  const { cluster, cleanup } = options;
  const names = natsNames(uniqueName("chaos_jobs"));
  const billing = await startBillingProcess({
    label: "chaos_jobs",
    env: {
      BILLING_OUTBOX_ENABLED: "true",
      NATS_URL: cluster.url,
      NATS_NAMESPACE: names.namespace,
      NATS_STREAM_REPLICAS: "3",
      LOG_LEVEL: "error",
    },
  });
  cleanup.add("chaos_jobs billing", () => billing.close());
  const workers: AppProcess[] = [];
  for (let index = 0; index < 2; index++) {
    const worker = startWorkerProcess(
      await workerEnv(cluster.url, names, billing),
      cleanup,
      `worker ${index + 1}`,
    );
    await waitForHttpOk(worker.readyUrl, worker.app, 60_000);
    workers.push(worker.app);
  }
  const nc = await connectNats({ servers: cluster.url, name: "chaos-bot" });
  cleanup.add("chaos-bot connection", () => nc.close());
  const jsm = await jetstreamManager(nc);
  const bot = createBillingClient({ baseUrl: billing.url, token: billing.tokens.bot, timeoutMs: 10_000 });
  const admin = createBillingClient({ baseUrl: billing.url, token: billing.tokens.admin });
  const users = Array.from({ length: USERS }, (_, index) => `telegram:${8_000_000 + index}`);
  for (const userRef of users) {
    await bot.wallet.openAccount({ userRef });
    await admin.wallet.grant({
      userRef,
      amountCredits: 100_000n,
      reason: "chaos",
      idempotencyKey: `grant-${userRef}`,
    });
  }
  const context = { options, names, nc, jsm, js: jetstream(nc), bot, billing, users, report };
  await oneRun(context, "r1", "JOBS leader", async () => streamLeader(jsm, names.streams.jobs));
  await oneRun(context, "r2", "meta leader", async () => {
    const leaders = await Promise.all(cluster.nodes.map((node) => metaLeader(node).catch(() => "")));
    return leaders.find((leader) => leader !== "") ?? "";
  });

  const events = await outboxAgainstStream(billing.database.url, cluster.url, names);
  report.check(
    "outbox rows / stream messages",
    `${events.outbox} / ${events.stream.length}`,
    events.drained && events.equal,
  );
  const verified = await admin.wallet.verifyLedger({});
  report.check("VerifyLedger violations", verified.violations.length, verified.violations.length === 0);
  const exited = [billing.app, ...workers].filter(
    (app) => app.child.exitCode !== null || app.child.signalCode !== null,
  );
  report.check("processes that exited (billing, 2 workers)", exited.length, exited.length === 0);
  bot.close();
  admin.close();
  // Billing stays up for scenario 3 (the clean-up stops it).
  return { billing };
}

interface RunContext {
  options: JobsClusterOptions;
  names: NatsNames;
  nc: NatsConnection;
  jsm: JetStreamManager;
  js: JetStreamClient;
  bot: BillingClient;
  billing: BillingProcess;
  users: readonly string[];
  report: ReturnType<typeof figures>;
}

/** N jobs with `victim` (a server name, found when a third has been submitted) killed mid-run. */
async function oneRun(
  context: RunContext,
  run: string,
  victimRole: string,
  findVictim: () => Promise<string>,
) {
  const { options, names, jsm, report } = context;
  const { cluster } = options;
  let next = 0;
  let failedSubmissions = 0;
  let victim: NatsNode | undefined;
  let leadersAfterMs: number | undefined;
  const kill = (async () => {
    await poll(() => Promise.resolve(next >= options.jobs / 3 ? true : undefined), 120_000);
    const name = await poll(async () => {
      const found = await findVictim();
      return found === "" ? undefined : found;
    }, 30_000);
    victim = cluster.nodes.find((node) => node.name === name);
    if (victim === undefined || name === undefined) return;
    await victim.kill();
    const survivors = cluster.nodes.filter((node) => node !== victim);
    const streams = [...Object.values(names.streams), ...Object.values(names.buckets).map((b) => `OBJ_${b}`)];
    leadersAfterMs = await timeToLeaders(jsm, streams, survivors, name, 60_000);
  })();
  await Promise.all(
    Array.from({ length: SUBMITTERS }, async () => {
      for (let index = next++; index < options.jobs; index = next++) {
        const userRef = context.users[index % context.users.length] ?? "";
        await submitJob(context.bot, context.js, names, `${run}-${index}`, userRef).catch(
          () => failedSubmissions++,
        );
      }
    }),
  );
  await kill;
  report.note(`${run}: node killed`, `${victimRole} (${victim?.name ?? "none found"})`);
  report.check(
    `${run}: jobs submitted`,
    `${options.jobs - failedSubmissions} of ${options.jobs}`,
    failedSubmissions === 0,
  );
  report.check(
    `${run}: time until every stream had a leader`,
    leadersAfterMs === undefined ? "> 60 s" : `${(leadersAfterMs / 1000).toFixed(1)} s`,
    leadersAfterMs !== undefined,
  );

  const settled = await poll(async () => {
    const rows = await query<{ n: string }>(
      context.billing.database.url,
      `select count(*) as n from ledger_holds where job_id like '${run}-%' and state <> 'PENDING'`,
    );
    return Number(rows[0]?.n) >= options.jobs - failedSubmissions ? true : undefined;
  }, 180_000);
  report.check(`${run}: every hold resolved`, settled === true ? "yes" : "no", settled === true);
  await auditRun(context, run, options.jobs - failedSubmissions);
  await victim?.start();
  await poll(async () => ((await fetch(`${victim?.monitorUrl}/healthz`)).ok ? true : undefined), 60_000);
}

/** Completed and failed events of one run's jobs, counted per job id. */
async function resultsOf(context: RunContext, run: string) {
  const { names } = context;
  const completed = new Map<string, number>();
  const failed = new Map<string, number>();
  for (const message of await readStream(context.nc, context.jsm, names.streams.jobResults)) {
    const isCompleted = message.subject === names.subjects.generationCompleted;
    const jobId = isCompleted
      ? fromBinary(GenerationCompletedSchema, message.data).jobId
      : fromBinary(GenerationFailedSchema, message.data).jobId;
    if (!jobId.startsWith(`${run}-`)) continue;
    const counts = isCompleted ? completed : failed;
    counts.set(jobId, (counts.get(jobId) ?? 0) + 1);
  }
  return { completed, failed };
}

async function auditRun(context: RunContext, run: string, submitted: number) {
  const { names, jsm, report } = context;
  const holds = await query<{ job_id: string; state: string }>(
    context.billing.database.url,
    `select job_id, state from ledger_holds where job_id like '${run}-%'`,
  );
  const { completed, failed } = await resultsOf(context, run);
  let posted = 0;
  let released = 0;
  let wrong = 0;
  for (const hold of holds) {
    const done = completed.get(hold.job_id) ?? 0;
    const gaveUp = failed.get(hold.job_id) ?? 0;
    if (hold.state === "POSTED" && done === 1 && gaveUp === 0) posted++;
    else if (hold.state === "VOIDED" && done === 0 && gaveUp === 1) released++;
    else wrong++;
  }
  report.check(
    `${run}: completed once / released / otherwise`,
    `${posted} / ${released} / ${wrong + submitted - holds.length}`,
    wrong === 0 && holds.length === submitted,
  );
  const drained = await poll(async () => {
    const stream = await jsm.streams.info(names.streams.jobs);
    const consumer = await jsm.consumers.info(names.streams.jobs, names.durables.worker);
    const empty = stream.state.messages === 0 && consumer.num_pending === 0 && consumer.num_ack_pending === 0;
    return empty ? true : undefined;
  }, 60_000);
  report.check(`${run}: JOBS drained`, drained === true ? "yes" : "no", drained === true);
}
