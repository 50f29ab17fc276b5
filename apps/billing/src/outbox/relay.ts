// The outbox relay: publishes the events that committed transactions wrote to outbox_events, each
// once, to BILLING_EVENTS with Nats-Msg-Id = event_id.
//
// A batch is claimed with FOR UPDATE SKIP LOCKED and stays locked while it is published, so several
// billing instances relay side by side without publishing the same row twice. A row is marked only
// after its PubAck: if billing dies before the mark commits, the row is published again after the
// restart and the stream's duplicate window drops the copy. A rolled-back transaction never wrote a
// row, so nothing of it is published. While NATS is unreachable the relay backs off and the outbox
// just lags (billing stays SERVING); the backlog and lag are metrics.
import { LockMode } from "@mikro-orm/postgresql";
import {
  connectNats,
  ensureStreams,
  jetstream,
  type JetStreamClient,
  jetstreamManager,
  type NatsConnection,
  type NatsNames,
  publishBillingEventBytes,
  streamOptionsFor,
} from "@billing/events";
import { Counter, Gauge, type Logger, type Registry } from "@billing/observability";
import type { Database } from "../db/database.js";
import { OutboxEvent } from "../db/entities.js";

export interface OutboxRelayOptions {
  db: Database;
  natsUrl: string;
  names: NatsNames;
  log: Logger;
  registry: Registry;
  /** Pause between polls when the outbox is drained. */
  pollIntervalMs: number;
  /** Rows claimed and published per transaction. */
  batchSize: number;
  /** Replicas of the streams it ensures (NATS_STREAM_REPLICAS). */
  streamReplicas: number;
}

export interface OutboxRelay {
  /** Finishes the batch in hand (bounded by the publish timeout), then closes the NATS connection. */
  stop(): Promise<void>;
}

const PUBLISH_TIMEOUT_MS = 5_000;
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 5_000;
const CONNECT_TIMEOUT_MS = 2_000;

export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, names, log } = options;
  const published = new Counter({
    name: "billing_outbox_published_total",
    help: "Outbox events published and acknowledged by JetStream (duplicate=true: dropped by the stream's dedupe)",
    labelNames: ["duplicate"] as const,
    registers: [options.registry],
  });
  const failures = new Counter({
    name: "billing_outbox_publish_failures_total",
    help: "Outbox publish attempts that got no PubAck (the row stays unpublished and is retried)",
    registers: [options.registry],
  });
  new Gauge({
    name: "billing_outbox_backlog",
    help: "Outbox events committed but not yet published",
    registers: [options.registry],
    async collect() {
      const rows = await db
        .reader()
        .execute<{ backlog: string }[]>(
          `select count(*) as backlog from outbox_events where published_at is null`,
        )
        .catch(() => undefined);
      if (rows?.[0] !== undefined) this.set(Number(rows[0].backlog));
    },
  });
  new Gauge({
    name: "billing_outbox_lag_seconds",
    help: "Age of the oldest unpublished outbox event (0 when none is waiting)",
    registers: [options.registry],
    async collect() {
      const rows = await db
        .reader()
        .execute<{ lag: number | string | null }[]>(
          `select extract(epoch from now() - created_at) as lag from outbox_events
           where published_at is null order by id limit 1`,
        )
        .catch(() => undefined);
      if (rows !== undefined) this.set(Math.max(0, Number(rows[0]?.lag ?? 0)));
    },
  });

  let stopping = false;
  let nc: NatsConnection | undefined;
  let js: JetStreamClient | undefined;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const connected = async (): Promise<JetStreamClient> => {
    if (js !== undefined && nc !== undefined && !nc.isClosed()) return js;
    const connection = await connectNats({
      servers: options.natsUrl,
      name: "billing-outbox",
      timeoutMs: CONNECT_TIMEOUT_MS,
    });
    try {
      // Production streams get production bounds; a test namespace gets small ones (JetStream
      // reserves max_bytes at creation).
      await ensureStreams(
        await jetstreamManager(connection),
        names,
        streamOptionsFor(names, options.streamReplicas),
      );
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
    nc = connection;
    js = jetstream(connection);
    log.info({ namespace: names.namespace }, "outbox relay connected to NATS");
    return js;
  };

  /** Publishes one batch; returns how many rows it marked and whether any publish failed. */
  const relayBatch = async (client: JetStreamClient) =>
    db.transaction(async (tx) => {
      // SKIP LOCKED: rows another instance is publishing right now are its business.
      const rows = await tx.find(
        OutboxEvent,
        { publishedAt: null },
        { orderBy: { id: "asc" }, limit: options.batchSize, lockMode: LockMode.PESSIMISTIC_PARTIAL_WRITE },
      );
      // Published concurrently on one connection: the server stores them in the order sent.
      const results = await Promise.allSettled(
        rows.map((row) =>
          publishBillingEventBytes(
            client,
            names,
            { baseSubject: row.subject, eventId: row.eventId, payload: row.payload },
            { timeoutMs: PUBLISH_TIMEOUT_MS, maxAttempts: 1 },
          ),
        ),
      );
      const now = new Date();
      let marked = 0;
      let failed = 0;
      results.forEach((result, index) => {
        const row = rows[index];
        if (row === undefined) return;
        if (result.status === "fulfilled") {
          row.publishedAt = now;
          marked++;
          published.inc({ duplicate: String(result.value.duplicate) });
        } else {
          failed++;
          failures.inc();
          if (failed === 1) log.warn({ err: result.reason, event_id: row.eventId }, "outbox publish failed");
        }
      });
      return { claimed: rows.length, marked, failed };
    });

  const loop = async () => {
    let errors = 0;
    while (!stopping) {
      let delayMs = options.pollIntervalMs;
      try {
        const batch = await relayBatch(await connected());
        if (batch.failed > 0) {
          errors++;
          delayMs = backoff(errors);
        } else {
          errors = 0;
          // A full batch means more may be waiting: go again at once.
          if (batch.claimed === options.batchSize) delayMs = 0;
        }
      } catch (error) {
        errors++;
        delayMs = backoff(errors);
        // One line per streak start and then every 10th, not one per retry.
        if (errors === 1 || errors % 10 === 0) {
          log.warn(
            { err: error, attempt: errors, retry_in_ms: delayMs },
            "outbox relay cannot publish; retrying",
          );
        }
      }
      if (delayMs > 0 && !stopping) await pause(delayMs);
    }
  };

  const done = loop().catch((error: unknown) =>
    log.error({ err: error }, "outbox relay stopped unexpectedly"),
  );
  return {
    async stop() {
      stopping = true;
      wake?.();
      await done;
      await nc?.close().catch(() => undefined);
    },
  };
}

function backoff(errors: number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(errors - 1, 10));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
