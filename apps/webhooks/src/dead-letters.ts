// Where the receiver parks what it refuses to hand to billing (garbage from an allowed sender, a
// payment billing found inconsistent): the DEADLETTER stream, subject deadletter.webhooks.yookassa,
// for operators to read. The raw body is the message; the reason travels in headers. Nats-Msg-Id is
// a digest of reason and body, so YooKassa redelivering the same garbage parks it once.
//
// A stand-in until @billing/events (stream definitions as code, typed publish) reaches main: the
// names follow its natsNames() scheme (namespace prefixes) and the stream is only created when
// absent, so its ensureStreams() stays the owner of the configuration.
import { createHash } from "node:crypto";
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { headers, type NatsConnection, nanos } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { Logger } from "@billing/observability";

export const DEAD_LETTER_STREAM = "DEADLETTER";
export const DEAD_LETTER_SUBJECT = "deadletter.webhooks.yookassa";

export type DeadLetterReason = "invalid_notification" | "rejected_by_billing" | "payment_mismatch";

export interface DeadLetter {
  readonly reason: DeadLetterReason;
  /** For operators: what was wrong (never the body itself). */
  readonly detail: string;
  readonly body: Uint8Array;
  readonly sourceIp: string;
}

export interface DeadLetterSink {
  /** True once stored by JetStream; false when NATS is unreachable (the caller logs and moves on). */
  park(letter: DeadLetter): Promise<boolean>;
  close(): Promise<void>;
}

export interface DeadLetterOptions {
  readonly natsUrl: string;
  /** "" in production; a prefix of stream and subject otherwise (tests). */
  readonly namespace: string;
  readonly log: Logger;
  /** Bound on waiting for JetStream's acknowledgement. */
  readonly publishTimeoutMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const RECONNECT_MAX_MS = 10_000;
const MAX_DETAIL_CHARS = 512;

/** Names under a namespace, as @billing/events' natsNames() forms them. */
export function deadLetterNames(namespace: string): { stream: string; subject: string; subjects: string } {
  const subject = (base: string) => (namespace === "" ? base : `${namespace}.${base}`);
  return {
    stream: namespace === "" ? DEAD_LETTER_STREAM : `${namespace}_${DEAD_LETTER_STREAM}`,
    subject: subject(DEAD_LETTER_SUBJECT),
    subjects: subject("deadletter.>"),
  };
}

/** Connects in the background (the receiver must work while NATS is down) and parks letters. */
export function startDeadLetterSink(options: DeadLetterOptions): DeadLetterSink {
  const names = deadLetterNames(options.namespace);
  const stop = new AbortController();
  let nc: NatsConnection | undefined;

  const connected = (async () => {
    for (let delay = 200; !stop.signal.aborted; delay = Math.min(delay * 2, RECONNECT_MAX_MS)) {
      try {
        const connection = await connect({
          servers: options.natsUrl.split(",").map((url) => url.trim()),
          name: "webhooks",
          timeout: 5_000,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
        });
        await ensureStream(connection, names);
        if (stop.signal.aborted) {
          await connection.close();
          return;
        }
        nc = connection;
        options.log.info({ stream: names.stream }, "dead-letter stream ready");
        return;
      } catch (error) {
        options.log.warn({ err: error, retry_in_ms: delay }, "NATS not reachable for dead letters; retrying");
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
      }
    }
  })();

  return {
    async park(letter) {
      if (nc === undefined) return false;
      const digest = createHash("sha256")
        .update(letter.reason)
        .update("\0")
        .update(letter.body)
        .digest("hex");
      const hdrs = headers();
      hdrs.set("Dead-Letter-Reason", letter.reason);
      hdrs.set("Dead-Letter-Detail", headerSafe(letter.detail));
      hdrs.set("Dead-Letter-App", "webhooks");
      hdrs.set("Dead-Letter-Source-Ip", headerSafe(letter.sourceIp));
      hdrs.set("Dead-Letter-At", new Date().toISOString());
      try {
        await jetstream(nc).publish(names.subject, letter.body, {
          msgID: `webhooks-yookassa-${digest}`,
          headers: hdrs,
          timeout: options.publishTimeoutMs ?? 2_000,
          expect: { streamName: names.stream },
        });
        return true;
      } catch (error) {
        options.log.warn({ err: error, reason: letter.reason }, "could not park a dead letter");
        return false;
      }
    },
    async close() {
      stop.abort();
      await connected;
      await nc?.drain().catch(() => undefined);
    },
  };
}

async function ensureStream(nc: NatsConnection, names: { stream: string; subjects: string }): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(names.stream);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    await jsm.streams.add({
      name: names.stream,
      description: "Messages given up on, for operators",
      subjects: [names.subjects],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(30 * DAY_MS),
      max_bytes: 512 * 1024 * 1024,
      max_msg_size: 1024 * 1024,
      duplicate_window: nanos(10 * 60 * 1000),
    });
  }
}

/** Header values are one line of printable ASCII, bounded. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?").slice(0, MAX_DETAIL_CHARS);
}
