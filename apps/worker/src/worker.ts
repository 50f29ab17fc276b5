// The worker process: a durable pull consumer of jobs.generation.requested that runs each job
// through the image provider and resolves the hold that paid for it (see job-handler.ts). It starts
// even while NATS is away or JetStream has no leader yet, retrying its set-up until it is done, and
// is ready only once set up and while connected. It stops gracefully: jobs in hand finish first.
import { type BillingClient, createBillingClient } from "@billing/client";
import type { WorkerConfig } from "@billing/config";
import {
  bucketOptionsFor,
  connectAndSetUp,
  type ConnectionWatch,
  ensureBuckets,
  ensureConsumer,
  ensureStreams,
  jetstream,
  jetstreamManager,
  type JobBuckets,
  type NatsConnection,
  natsNames,
  type NatsNames,
  type RunningConsumer,
  startConsumer,
  streamOptionsFor,
  workerConsumer,
} from "@billing/events";
import {
  createLogger,
  createMetricsRegistry,
  Gauge,
  type Logger,
  type OpsServer,
  type Registry,
  startOpsServer,
} from "@billing/observability";
import { GenerationRequestedSchema } from "@billing/proto/events/v1/jobs_pb";
import { handleJob } from "./job-handler.js";
import { createWorkerMetrics } from "./metrics.js";
import { createProvider, type ImageProvider } from "./providers/index.js";

export interface WorkerOptions {
  config: WorkerConfig;
  log?: Logger;
  /** Replaces the provider named in the configuration (tests script failures on a LocalProvider). */
  provider?: ImageProvider;
  /** Base of the provider-error backoff; tests shorten it. */
  retryBaseMs?: number;
}

export interface Worker {
  /** Resolves once the consumer is running. */
  readonly ready: Promise<void>;
  readonly opsPort: number;
  readonly registry: Registry;
  readonly provider: ImageProvider;
  /** Stops taking jobs, lets those in hand finish (within the shutdown grace), then disconnects. */
  close(): Promise<void>;
}

const BILLING_CALL_TIMEOUT_MS = 10_000;

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { config } = options;
  const log = options.log ?? createLogger({ app: "worker", level: config.logLevel });
  const registry = createMetricsRegistry("worker");
  const metrics = createWorkerMetrics(registry);
  const provider = options.provider ?? createProvider(config.provider);
  const names = natsNames(config.natsNamespace);
  const billing: BillingClient = createBillingClient({
    baseUrl: config.billingUrl,
    token: config.billingToken,
    timeoutMs: BILLING_CALL_TIMEOUT_MS,
  });
  let nc: NatsConnection | undefined;
  let link: ConnectionWatch | undefined;
  let consumer: RunningConsumer | undefined;
  let shuttingDown = false;
  const stopping = new AbortController();

  new Gauge({
    name: "worker_jobs_in_flight",
    help: "Jobs this instance is handling right now (at most WORKER_CONCURRENCY)",
    registers: [registry],
    collect() {
      this.set(consumer?.inFlight ?? 0);
    },
  });

  const ops: OpsServer = await startOpsServer({
    host: config.opsHost,
    port: config.opsPort,
    registry,
    // Ready once set up, and only while NATS is reachable: a worker cut off from NATS takes no jobs.
    ready: () => consumer !== undefined && link?.up === true && !shuttingDown,
  });
  const startJobConsumer = (connection: NatsConnection, stream: string, buckets: JobBuckets) =>
    consumeJobs({ nc: connection, stream, buckets, names, config, billing, provider, metrics, log, options });

  // Connection, streams, consumer, buckets and the running consumer are one set-up, retried until it
  // succeeds: a JetStream cluster without a meta leader (forming, or re-electing) times these calls
  // out for seconds, and the worker must wait that out rather than exit.
  const ready = (async () => {
    const definition = workerConsumer(names, { maxDeliver: config.maxDeliver, ackWaitMs: config.ackWaitMs });
    const setUp = await connectAndSetUp({
      servers: config.natsUrl,
      name: "worker",
      log,
      signal: stopping.signal,
      setUp: async (connection) => {
        const jsm = await jetstreamManager(connection);
        await ensureStreams(jsm, names, streamOptionsFor(names, config.natsStreamReplicas));
        await ensureConsumer(jsm, definition);
        const buckets = await ensureBuckets(
          connection,
          names,
          bucketOptionsFor(names, config.natsStreamReplicas),
        );
        return startJobConsumer(connection, definition.stream, buckets);
      },
    });
    if (setUp === undefined) return;
    nc = setUp.nc;
    link = setUp.link;
    consumer = setUp.value;
    log.info(
      {
        namespace: names.namespace,
        provider: provider.name,
        concurrency: config.concurrency,
        ops_port: ops.port,
      },
      "worker ready",
    );
  })();
  ready.catch((error: unknown) => log.fatal({ err: error }, "worker failed to start"));

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      shuttingDown = true;
      stopping.abort();
      await ready.catch(() => undefined);
      if (consumer !== undefined) {
        const grace = new Promise<"timeout">((resolve) =>
          setTimeout(() => resolve("timeout"), config.shutdownGraceMs).unref(),
        );
        const stopped = consumer.stop().then(() => "stopped" as const);
        if ((await Promise.race([stopped, grace])) === "timeout") {
          // Jobs still in hand come back to another worker after ack_wait; their holds are untouched.
          log.warn(
            { in_flight: consumer.inFlight },
            "shutdown grace elapsed; leaving jobs in hand to redelivery",
          );
        }
      }
      await nc?.drain().catch(() => undefined);
      billing.close();
      await ops.close();
      log.info("worker stopped");
    })());

  return { ready, opsPort: ops.port, registry, provider, close };
}

/** Starts the durable consumer of jobs.generation.requested that runs each job through handleJob. */
function consumeJobs(context: {
  nc: NatsConnection;
  stream: string;
  buckets: JobBuckets;
  names: NatsNames;
  config: WorkerConfig;
  billing: BillingClient;
  provider: ImageProvider;
  metrics: ReturnType<typeof createWorkerMetrics>;
  log: Logger;
  options: WorkerOptions;
}): Promise<RunningConsumer> {
  const { nc, names, config, metrics, log, options } = context;
  const deps = {
    wallet: context.billing.wallet,
    js: jetstream(nc),
    names,
    buckets: context.buckets,
    provider: context.provider,
    log,
    steps: metrics.steps,
    expectedJobMs: (operation: string) =>
      config.expectedJobMs.byOperation.get(operation) ?? config.expectedJobMs.default,
    ...(options.retryBaseMs === undefined ? {} : { retryBaseMs: options.retryBaseMs }),
  };
  return startConsumer({
    nc,
    names,
    stream: context.stream,
    consumer: names.durables.worker,
    schema: GenerationRequestedSchema,
    concurrency: config.concurrency,
    handlerTimeoutMs: config.jobTimeoutMs,
    log,
    app: "worker",
    handler: async (delivery) => {
      const started = performance.now();
      const { outcome, result } = await handleJob(delivery, deps);
      const durationMs = performance.now() - started;
      metrics.job(result, durationMs);
      log.info(
        {
          job_id: delivery.message.jobId,
          hold_id: delivery.message.holdId,
          operation: delivery.message.operation,
          delivery: delivery.deliveryCount,
          result,
          duration_ms: Math.round(durationMs),
        },
        "job handled",
      );
      return outcome;
    },
    onSettled: (kind, durationMs, settleMs) => {
      if (kind === "ack") metrics.steps.record("ack", settleMs);
      // Poison never reaches the handler; count it here.
      if (kind === "undecodable") metrics.job("dead_letter", durationMs);
    },
  });
}
