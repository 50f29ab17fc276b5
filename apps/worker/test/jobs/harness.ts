// What a jobs test needs: the real billing app as a process (fresh database), its own NATS namespace
// (streams and buckets, deleted afterwards), and the bot's side of flow 2 — open the account, reserve,
// publish the job — plus a view of the results stream.
import { create, fromBinary } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { type BillingClient, createBillingClient } from "@billing/client";
import { parseEnv, type WorkerConfig, workerEnvSchema } from "@billing/config";
import {
  COMPACT_BUCKET_OPTIONS,
  ensureBuckets,
  type JetStreamClient,
  type JetStreamManager,
  type JobBuckets,
  type NatsConnection,
  type NatsNames,
  openNamespace,
  publishGenerationRequested,
  putImage,
} from "@billing/events";
import { createLogger } from "@billing/observability";
import { DeadLetterSchema, type DeadLetter } from "@billing/proto/events/v1/deadletter_pb";
import {
  type GenerationCompleted,
  GenerationCompletedSchema,
  type GenerationFailed,
  GenerationFailedSchema,
  GenerationRequestedSchema,
  type ImageRef,
} from "@billing/proto/events/v1/jobs_pb";
import { type BillingProcess, NATS_URL, startBillingProcess, uniqueName } from "@billing/testkit";

export const testLog = createLogger({ app: "worker-test", level: process.env.TEST_LOG_LEVEL ?? "silent" });

export type JobResultEvent =
  | { kind: "completed"; subject: string; msgId: string; event: GenerationCompleted }
  | { kind: "failed"; subject: string; msgId: string; event: GenerationFailed };

export interface JobsHarness {
  billing: BillingProcess;
  bot: BillingClient;
  admin: BillingClient;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: NatsNames;
  buckets: JobBuckets;
  /** The worker's configuration for this harness, with overrides of its environment. */
  workerConfig(env?: Record<string, string>): WorkerConfig;
  /** The worker's environment for this harness (for spawnApp). */
  workerEnv(env?: Record<string, string>): Record<string, string>;
  /** What the bot does: OpenAccount, Reserve (idempotency key = job id), publish the job. */
  submit(job: {
    jobId: string;
    userRef: string;
    operation?: string;
    prompt?: string;
    inputImages?: ImageRef[];
    holdTimeoutMs?: number;
  }): Promise<{ holdId: string }>;
  putInput(name: string, bytes: Uint8Array, mimeType: string): Promise<ImageRef>;
  /** Every completed/failed event of a job, in stream order. */
  resultsOf(jobId: string): Promise<JobResultEvent[]>;
  /** Waits for the job's first result. */
  waitForResult(jobId: string, timeoutMs?: number): Promise<JobResultEvent>;
  deadLetters(): Promise<DeadLetter[]>;
  /** Jobs still queued (the work queue removes acked ones). */
  queuedJobs(): Promise<number>;
  /**
   * Resolves once every job has been acked off the work queue; throws if one is still there after
   * the wait. The worker acks without waiting for the server's answer, so the queue empties a moment
   * after a job's last event.
   */
  drained(): Promise<void>;
  close(): Promise<void>;
}

export async function startJobsHarness(
  label: string,
  billingEnv: Record<string, string> = {},
): Promise<JobsHarness> {
  const namespace = await openNamespace({
    servers: NATS_URL,
    namespace: uniqueName(label),
    name: `test-${label}`,
  });
  const { nc, js, jsm, names } = namespace;
  const billing = await startBillingProcess({
    label,
    // The relay is not what these tests are about; billing events are covered in apps/billing.
    env: { NATS_NAMESPACE: names.namespace, BILLING_OUTBOX_ENABLED: "false", ...billingEnv },
  });
  const buckets = await ensureBuckets(nc, names, COMPACT_BUCKET_OPTIONS);
  const bot = createBillingClient({ baseUrl: billing.url, token: billing.tokens.bot });
  const admin = createBillingClient({ baseUrl: billing.url, token: billing.tokens.admin });

  const workerEnv = (env: Record<string, string> = {}) => ({
    NATS_URL,
    NATS_NAMESPACE: names.namespace,
    BILLING_URL: billing.url,
    BILLING_TOKEN: billing.tokens.worker,
    WORKER_OPS_HOST: "127.0.0.1",
    WORKER_OPS_PORT: "0",
    WORKER_ACK_WAIT_MS: "5000",
    WORKER_MAX_DELIVER: "4",
    WORKER_CONCURRENCY: "4",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
    ...env,
  });

  const readStream = async (stream: string) => {
    const { state } = await jsm.streams.info(stream);
    const messages = [];
    for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
      const stored = await jsm.streams.getMessage(stream, { seq });
      if (stored !== null) messages.push(stored);
    }
    return messages;
  };

  const resultsOf = async (jobId: string): Promise<JobResultEvent[]> => {
    const events: JobResultEvent[] = [];
    for (const stored of await readStream(names.streams.jobResults)) {
      const msgId = stored.header.get("Nats-Msg-Id");
      if (stored.subject === names.subjects.generationCompleted) {
        const event = fromBinary(GenerationCompletedSchema, stored.data);
        if (event.jobId === jobId) events.push({ kind: "completed", subject: stored.subject, msgId, event });
      } else {
        const event = fromBinary(GenerationFailedSchema, stored.data);
        if (event.jobId === jobId) events.push({ kind: "failed", subject: stored.subject, msgId, event });
      }
    }
    return events;
  };

  return {
    billing,
    bot,
    admin,
    nc,
    js,
    jsm,
    names,
    buckets,
    workerEnv,
    workerConfig: (env) => parseEnv(workerEnvSchema, workerEnv(env)),
    async submit(job) {
      await bot.wallet.openAccount({ userRef: job.userRef });
      const operation = job.operation ?? "generate";
      const reserved = await bot.wallet.reserve({
        userRef: job.userRef,
        operation,
        idempotencyKey: job.jobId,
        jobId: job.jobId,
        timeout: durationFromMs(job.holdTimeoutMs ?? 60_000),
      });
      const holdId = reserved.hold?.holdId ?? "";
      const holdExpiresAt = reserved.hold?.expiresAt;
      await publishGenerationRequested(
        js,
        names,
        create(GenerationRequestedSchema, {
          jobId: job.jobId,
          userRef: job.userRef,
          operation,
          holdId,
          prompt: job.prompt ?? "a cat on a roof",
          inputImages: job.inputImages ?? [],
          chatId: 42n,
          locale: "en",
          seed: 7n,
          ...(holdExpiresAt === undefined ? {} : { holdExpiresAt }),
        }),
      );
      return { holdId };
    },
    putInput: (name, bytes, mimeType) =>
      putImage(buckets.inputs, buckets.names.jobInputs, name, bytes, mimeType),
    resultsOf,
    async waitForResult(jobId, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [first] = await resultsOf(jobId);
        if (first !== undefined) return first;
        if (Date.now() > deadline) throw new Error(`no result for ${jobId} within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async deadLetters() {
      return (await readStream(names.streams.deadLetter)).map((m) => fromBinary(DeadLetterSchema, m.data));
    },
    async queuedJobs() {
      return (await jsm.streams.info(names.streams.jobs)).state.messages;
    },
    async drained() {
      await waitUntil(
        async () => (await jsm.streams.info(names.streams.jobs)).state.messages === 0,
        "the work queue to empty",
        5_000,
      );
    },
    async close() {
      bot.close();
      admin.close();
      await namespace.close();
      await billing.close();
    },
  };
}

export async function waitUntil(
  probe: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
