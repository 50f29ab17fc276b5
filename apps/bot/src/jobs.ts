// The bot's side of NATS JetStream: photos into the inputs object store, jobs.generation.requested out,
// and two durable consumers of its own — job results (JOBS_RESULTS) and billing events
// (BILLING_EVENTS) — whose handlers ack only after the user's message is with Telegram. The bot
// starts even while NATS is away (menus and balances still work); it connects in the background,
// readiness says when it has, and a job asked for meanwhile is refused and released.
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import type { BotConfig } from "@billing/config";
import {
  ack,
  botBillingConsumer,
  botResultsConsumer,
  bucketOf,
  bucketOptionsFor,
  connectNats,
  ensureBuckets,
  ensureConsumer,
  ensureStreams,
  ImageUnavailableError,
  jetstream,
  type JetStreamClient,
  jetstreamManager,
  type JobBuckets,
  nak,
  type NatsConnection,
  natsNames,
  type Outcome,
  publishDeadLetter,
  publishGenerationRequested,
  putImage,
  readImage,
  type RunningConsumer,
  startConsumer,
  streamOptionsFor,
  SUBJECTS,
} from "@billing/events";
import type { Logger } from "@billing/observability";
import { type BillingEvent, BillingEventSchema } from "@billing/proto/events/v1/billing_pb";
import {
  type GenerationCompleted,
  GenerationCompletedSchema,
  type GenerationFailed,
  GenerationFailedSchema,
} from "@billing/proto/events/v1/jobs_pb";
import { setTimeout as sleep } from "node:timers/promises";
import type { JobGateway } from "./context.js";
import type { Settle } from "./results.js";
import { describeError, type Redactor } from "./telegram/redact.js";

export interface ConsumerHandlers {
  completed(event: GenerationCompleted): Promise<Settle>;
  failed(event: GenerationFailed): Promise<Settle>;
  billing(event: BillingEvent): Promise<Settle>;
}

export interface EventsConnection {
  readonly gateway: JobGateway;
  /** Connected now (not merely reconnecting), streams and consumers in place, consumers running. */
  readonly ready: boolean;
  /** Starts both consumers as soon as the connection is up. */
  startConsumers(handlers: ConsumerHandlers): void;
  /** Stops pulling; handlers in hand finish. */
  stopConsumers(): Promise<void>;
  close(): Promise<void>;
}

/** A message that could not be delivered now (shutdown, a full queue) comes back after this. */
const RETRY_DELAY_MS = 5_000;
const CONNECT_BACKOFF_MAX_MS = 10_000;

interface Connected {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly buckets: JobBuckets;
}

export function connectEvents(options: {
  config: BotConfig;
  log: Logger;
  redact: Redactor;
}): EventsConnection {
  const { config, log, redact } = options;
  const names = natsNames(config.natsNamespace);
  const stopping = new AbortController();
  let connected: Connected | undefined;
  const consumers: RunningConsumer[] = [];
  let consumersRunning = false;

  /** The link is up (no disconnect since the last reconnect) and JetStream's set-up is in place. */
  let linkUp = false;
  let jetstreamSetUp = false;

  /** Every app ensures what it uses: safe to repeat, and the bot may start before the worker. */
  const setUpJetStream = async (nc: NatsConnection): Promise<JobBuckets> => {
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, names, streamOptionsFor(names, config.natsStreamReplicas));
    const buckets = await ensureBuckets(nc, names, bucketOptionsFor(names, config.natsStreamReplicas));
    await ensureConsumer(jsm, botResultsConsumer(names));
    await ensureConsumer(jsm, botBillingConsumer(names));
    return buckets;
  };

  /** After a reconnect the server may be a new one (streams lost): set up again before saying ready. */
  const afterReconnect = async (nc: NatsConnection): Promise<void> => {
    for (let attempt = 1; linkUp && !nc.isClosed() && !stopping.signal.aborted; attempt++) {
      try {
        await setUpJetStream(nc);
        jetstreamSetUp = true;
        log.info({ namespace: names.namespace }, "NATS reconnected; JetStream set-up checked");
        return;
      } catch (error) {
        log.warn({ attempt, error: describeError(error, redact) }, "JetStream set-up after reconnect failed");
        await sleep(Math.min(CONNECT_BACKOFF_MAX_MS, 250 * 2 ** Math.min(attempt, 6)));
      }
    }
  };

  const watchStatus = async (nc: NatsConnection): Promise<void> => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") {
        linkUp = false;
        jetstreamSetUp = false;
        log.warn({ server: status.server }, "NATS disconnected");
      } else if (status.type === "reconnect") {
        linkUp = true;
        void afterReconnect(nc);
      }
    }
  };

  const connection = (async (): Promise<Connected | undefined> => {
    for (let attempt = 1; !stopping.signal.aborted; attempt++) {
      let nc: NatsConnection | undefined;
      try {
        nc = await connectNats({ servers: config.natsUrl, name: "bot" });
        const buckets = await setUpJetStream(nc);
        connected = { nc, js: jetstream(nc), buckets };
        linkUp = true;
        jetstreamSetUp = true;
        void watchStatus(nc);
        log.info({ namespace: names.namespace }, "NATS connected");
        return connected;
      } catch (error) {
        await nc?.close().catch(() => undefined);
        log.warn({ attempt, error: describeError(error, redact) }, "NATS not available yet; retrying");
        await sleep(Math.min(CONNECT_BACKOFF_MAX_MS, 250 * 2 ** Math.min(attempt, 6)), undefined, {
          signal: stopping.signal,
        }).catch(() => undefined);
      }
    }
    return undefined;
  })();

  const require = (): Connected => {
    if (connected === undefined || connected.nc.isClosed()) throw new Error("NATS is not connected");
    return connected;
  };

  const settled = (settle: Settle): Outcome => (settle === "ack" ? ack : nak(RETRY_DELAY_MS));

  const gateway: JobGateway = {
    async putInput(jobId, index, bytes, mimeType) {
      const { buckets } = require();
      return putImage(buckets.inputs, buckets.names.jobInputs, `${jobId}-in-${index}`, bytes, mimeType);
    },
    async publish(request) {
      await publishGenerationRequested(require().js, names, request);
    },
    async deadLetter(letter) {
      await publishDeadLetter(require().js, names, {
        deadLetterId: letter.id,
        stream: "",
        consumer: "",
        subject: letter.subject,
        streamSequence: 0n,
        deliveries: 1,
        reasonCode: letter.reason,
        reasonMessage: letter.detail.slice(0, 1_000),
        payload: letter.payload,
        app: "bot",
      });
    },
    async readResult(ref) {
      const { buckets } = require();
      const store = bucketOf(buckets, ref);
      if (store === undefined) return undefined;
      try {
        return await readImage(store, ref);
      } catch (error) {
        if (error instanceof ImageUnavailableError) return undefined;
        throw error;
      }
    },
  };

  return {
    gateway,
    get ready() {
      return (
        connected !== undefined && !connected.nc.isClosed() && linkUp && jetstreamSetUp && consumersRunning
      );
    },
    startConsumers(handlers) {
      void connection
        .then(async (up) => {
          if (up === undefined || stopping.signal.aborted) return;
          const concurrency = config.limits.consumerConcurrency;
          // JOBS_RESULTS carries two message types, one per subject, and the bot reads both with one
          // durable consumer. The helper decodes every message as Empty, which keeps all its fields as
          // unknown fields (losslessly); the subject then says which type to decode the bytes as.
          consumers.push(
            await startConsumer({
              nc: up.nc,
              names,
              stream: names.streams.jobResults,
              consumer: names.durables.botResults,
              schema: EmptySchema,
              concurrency,
              log,
              app: "bot",
              handler: async (delivery) => {
                const bytes = toBinary(EmptySchema, delivery.message);
                switch (names.baseSubject(delivery.subject)) {
                  case SUBJECTS.generationCompleted:
                    return settled(await handlers.completed(fromBinary(GenerationCompletedSchema, bytes)));
                  case SUBJECTS.generationFailed:
                    return settled(await handlers.failed(fromBinary(GenerationFailedSchema, bytes)));
                  default:
                    return ack;
                }
              },
            }),
          );
          consumers.push(
            await startConsumer({
              nc: up.nc,
              names,
              stream: names.streams.billingEvents,
              consumer: names.durables.botBilling,
              schema: BillingEventSchema,
              concurrency,
              log,
              app: "bot",
              handler: async (delivery) => settled(await handlers.billing(delivery.message)),
            }),
          );
          consumersRunning = true;
        })
        .catch((error: unknown) => {
          log.error({ error: describeError(error, redact) }, "could not start the NATS consumers");
        });
    },
    async stopConsumers() {
      consumersRunning = false;
      await Promise.all(consumers.map((consumer) => consumer.stop()));
    },
    async close() {
      stopping.abort();
      consumersRunning = false;
      await Promise.all(consumers.map((consumer) => consumer.stop()));
      const up = await connection;
      await up?.nc.drain().catch(() => undefined);
    },
  };
}
