// Where the receiver parks what it refuses to hand to billing (garbage from an allowed sender, a
// payment billing found inconsistent): a events.v1.DeadLetter on deadletter.webhooks.yookassa in the
// DEADLETTER stream, for operators to read. The dead letter's id is a digest of reason and body, so
// YooKassa redelivering the same garbage parks it once.
import { createHash } from "node:crypto";
import {
  connectAndSetUp,
  ensureStreams,
  jetstream,
  jetstreamManager,
  type NatsConnection,
  natsNames,
  publishDeadLetter,
  streamOptionsFor,
} from "@billing/events";
import type { Logger } from "@billing/observability";

/** The subject of webhooks' dead letters under deadletter.> (before any namespace prefix). */
export const DEAD_LETTER_SUBJECT = "webhooks.yookassa";

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
  /** "" in production; a prefix of stream and subject names otherwise (tests). */
  readonly namespace: string;
  readonly streamReplicas: number;
  readonly log: Logger;
  /** Bound on waiting for JetStream's acknowledgement. */
  readonly publishTimeoutMs?: number;
}

const RECONNECT_MAX_MS = 10_000;
const MAX_DETAIL_CHARS = 512;

/** Connects in the background (the receiver must work while NATS is down) and parks letters. */
export function startDeadLetterSink(options: DeadLetterOptions): DeadLetterSink {
  const names = natsNames(options.namespace);
  const stop = new AbortController();
  let nc: NatsConnection | undefined;

  const connected = connectAndSetUp({
    servers: options.natsUrl,
    name: "webhooks",
    log: options.log,
    signal: stop.signal,
    maxDelayMs: RECONNECT_MAX_MS,
    setUp: async (connection) => {
      await ensureStreams(
        await jetstreamManager(connection),
        names,
        streamOptionsFor(names, options.streamReplicas),
      );
    },
  }).then(async (up) => {
    if (up === undefined) return;
    if (stop.signal.aborted) {
      await up.nc.close();
      return;
    }
    nc = up.nc;
    options.log.info({ stream: names.streams.deadLetter }, "dead-letter stream ready");
  });

  return {
    async park(letter) {
      if (nc === undefined) return false;
      const digest = createHash("sha256")
        .update(letter.reason)
        .update("\0")
        .update(letter.body)
        .digest("hex");
      try {
        await publishDeadLetter(
          jetstream(nc),
          names,
          {
            deadLetterId: `webhooks-yookassa-${digest}`,
            stream: "",
            consumer: "",
            subject: DEAD_LETTER_SUBJECT,
            streamSequence: 0n,
            deliveries: 1,
            reasonCode: letter.reason,
            reasonMessage: `${letter.detail} (sender ${letter.sourceIp})`.slice(0, MAX_DETAIL_CHARS),
            payload: letter.body,
            app: "webhooks",
          },
          { timeoutMs: options.publishTimeoutMs ?? 2_000 },
        );
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
