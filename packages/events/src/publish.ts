// Typed publishing: protobuf bytes, Nats-Msg-Id set to the event's id (the server drops a duplicate
// within the stream's window), the PubAck awaited (the message is stored, or we know it is not), a
// bounded number of attempts, and the target stream named so a wrong subject fails loudly.
import { create, type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { BillingEvent } from "@billing/proto/events/v1/billing_pb";
import { type DeadLetter, DeadLetterSchema } from "@billing/proto/events/v1/deadletter_pb";
import {
  type GenerationCompleted,
  GenerationCompletedSchema,
  type GenerationFailed,
  GenerationFailedSchema,
  type GenerationRequested,
  GenerationRequestedSchema,
} from "@billing/proto/events/v1/jobs_pb";
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import type { NatsNames } from "./names.js";

export interface PublishOptions {
  /** Bound on waiting for one PubAck (default 5 s). */
  timeoutMs?: number;
  /** Attempts in all, the first included (default 3, at most 10). */
  maxAttempts?: number;
  /** Stops retrying (e.g. on shutdown). */
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_ATTEMPTS = 3;
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 2_000;

export interface RawMessage {
  subject: string;
  data: Uint8Array;
  /** Nats-Msg-Id: the event's or job's id. */
  msgId: string;
  /** The stream that must store it. */
  stream: string;
}

/**
 * Publishes and waits for the stream's acknowledgement; retries (bounded) when there is none. A
 * retry is safe: the same msgId is stored once. `PubAck.duplicate` tells a replay from a first store.
 */
export async function publishRaw(
  js: JetStreamClient,
  message: RawMessage,
  options: PublishOptions = {},
): Promise<PubAck> {
  if (message.msgId === "")
    throw new Error(`publish to ${message.subject}: an empty Nats-Msg-Id defeats dedupe`);
  const maxAttempts = Math.max(1, Math.min(options.maxAttempts ?? DEFAULT_ATTEMPTS, 10));
  for (let attempt = 1; ; attempt++) {
    try {
      return await js.publish(message.subject, message.data, {
        msgID: message.msgId,
        timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        expect: { streamName: message.stream },
      });
    } catch (error) {
      if (attempt >= maxAttempts || options.signal?.aborted === true) throw error;
      const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
      await delay(ceiling / 2 + (Math.random() * ceiling) / 2, options.signal);
    }
  }
}

export async function publishMessage<Desc extends DescMessage>(
  js: JetStreamClient,
  schema: Desc,
  message: MessageShape<Desc>,
  target: { subject: string; msgId: string; stream: string },
  options?: PublishOptions,
): Promise<PubAck> {
  return publishRaw(js, { ...target, data: toBinary(schema, message) }, options);
}

/** jobs.generation.requested, Nats-Msg-Id = job_id: publishing a job twice queues it once. */
export function publishGenerationRequested(
  js: JetStreamClient,
  names: NatsNames,
  message: GenerationRequested,
  options?: PublishOptions,
): Promise<PubAck> {
  requireId(message.jobId, "job_id");
  return publishMessage(
    js,
    GenerationRequestedSchema,
    message,
    { subject: names.subjects.generationRequested, msgId: message.jobId, stream: names.streams.jobs },
    options,
  );
}

/** The Nats-Msg-Id of a job's result: one completed or one failed per job. */
export function resultMsgId(jobId: string, outcome: "completed" | "failed"): string {
  return `${jobId}:${outcome}`;
}

export function publishGenerationCompleted(
  js: JetStreamClient,
  names: NatsNames,
  message: GenerationCompleted,
  options?: PublishOptions,
): Promise<PubAck> {
  requireId(message.jobId, "job_id");
  return publishMessage(
    js,
    GenerationCompletedSchema,
    message,
    {
      subject: names.subjects.generationCompleted,
      msgId: resultMsgId(message.jobId, "completed"),
      stream: names.streams.jobResults,
    },
    options,
  );
}

export function publishGenerationFailed(
  js: JetStreamClient,
  names: NatsNames,
  message: GenerationFailed,
  options?: PublishOptions,
): Promise<PubAck> {
  requireId(message.jobId, "job_id");
  return publishMessage(
    js,
    GenerationFailedSchema,
    message,
    {
      subject: names.subjects.generationFailed,
      msgId: resultMsgId(message.jobId, "failed"),
      stream: names.streams.jobResults,
    },
    options,
  );
}

/** Base subject of each billing event kind (the outbox stores these; the relay adds the namespace). */
export const BILLING_EVENT_SUBJECTS: Readonly<
  Record<Exclude<BillingEvent["payload"]["case"], undefined>, string>
> = {
  paymentSucceeded: "billing.payment.succeeded",
  paymentCanceled: "billing.payment.canceled",
  holdExpired: "billing.hold.expired",
  refundSucceeded: "billing.refund.succeeded",
  balanceChanged: "billing.balance.changed",
  balanceLow: "billing.balance.low",
  planActivated: "billing.plan.activated",
  promoGranted: "billing.promo.granted",
  creditsExpiring: "billing.credits.expiring",
  creditsExpired: "billing.credits.expired",
};

/**
 * A billing event already encoded (an outbox row): published on the namespace's `subject` with
 * Nats-Msg-Id = event id, into BILLING_EVENTS.
 */
export function publishBillingEventBytes(
  js: JetStreamClient,
  names: NatsNames,
  event: { baseSubject: string; eventId: string; payload: Uint8Array },
  options?: PublishOptions,
): Promise<PubAck> {
  if (!event.baseSubject.startsWith("billing."))
    throw new Error(`${event.baseSubject} is not a billing subject`);
  requireId(event.eventId, "event_id");
  return publishRaw(
    js,
    {
      subject: names.subject(event.baseSubject),
      data: event.payload,
      msgId: event.eventId,
      stream: names.streams.billingEvents,
    },
    options,
  );
}

/**
 * deadletter.<original base subject>, Nats-Msg-Id = the dead letter's id: "<stream>:<sequence>" for
 * a message a consumer gave up on, or the caller's own id for what never was a stream message (e.g.
 * an HTTP body the webhooks app refused).
 */
export function publishDeadLetter(
  js: JetStreamClient,
  names: NatsNames,
  record: Omit<DeadLetter, "$typeName" | "deadLetterId" | "deadAt"> & { deadLetterId?: string },
  options?: PublishOptions,
): Promise<PubAck> {
  const deadLetterId = record.deadLetterId ?? `${record.stream}:${record.streamSequence}`;
  const message = create(DeadLetterSchema, { ...record, deadLetterId, deadAt: timestampNow() });
  return publishMessage(
    js,
    DeadLetterSchema,
    message,
    {
      subject: names.subject(`deadletter.${record.subject}`),
      msgId: deadLetterId,
      stream: names.streams.deadLetter,
    },
    options,
  );
}

function requireId(value: string, field: string): void {
  if (value === "" || value.length > 200) throw new Error(`${field} must have 1..200 characters`);
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
