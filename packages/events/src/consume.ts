// The consume helper every app uses for a durable pull consumer: at most `concurrency` messages in
// hand at once (it fetches only as many as it has free slots, so none waits in a buffer while its
// ack_wait runs), acks only after the handler's effect, naks with a delay on transient failures,
// dead-letters and terms poison, keeps long handlers alive with working(), and stops gracefully.
import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import type { Logger } from "@billing/observability";
import { jetstream, type JsMsg } from "@nats-io/jetstream";
import { millis, type NatsConnection } from "@nats-io/nats-core";
import type { NatsNames } from "./names.js";
import { publishDeadLetter } from "./publish.js";

/** What a handler decided about one message. */
export type Outcome =
  | { readonly kind: "ack" }
  /** Try again after `delayMs` (a transient failure). On the last delivery this becomes a dead letter. */
  | { readonly kind: "nak"; readonly delayMs: number }
  /** Never try again: record it on deadletter.> and term() it. */
  | { readonly kind: "deadLetter"; readonly code: string; readonly message: string };

export const ack: Outcome = { kind: "ack" };
export const nak = (delayMs: number): Outcome => ({ kind: "nak", delayMs });
export const deadLetter = (code: string, message: string): Outcome => ({ kind: "deadLetter", code, message });

export type SettledKind = Outcome["kind"] | "undecodable";

export interface Delivery<T> {
  readonly message: T;
  /** The full subject it arrived on. */
  readonly subject: string;
  readonly streamSequence: number;
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
  readonly maxDeliver: number;
  /** No further delivery will follow a nak: give a final answer now. */
  readonly isLastDelivery: boolean;
  /** Aborts when `handlerTimeoutMs` has passed (reason: a TimeoutError DOMException). */
  readonly signal: AbortSignal;
}

export interface ConsumeOptions<Desc extends DescMessage> {
  nc: NatsConnection;
  names: NatsNames;
  /** Full stream and durable consumer names (the consumer must exist: see ensureConsumer). */
  stream: string;
  consumer: string;
  schema: Desc;
  /** Messages handled at once by this instance: 1..256. */
  concurrency: number;
  handler: (delivery: Delivery<MessageShape<Desc>>) => Promise<Outcome>;
  log: Logger;
  /** Recorded in dead letters, e.g. "worker". */
  app: string;
  /** A handler running longer sees its signal abort and stops heartbeating. Default: none. */
  handlerTimeoutMs?: number;
  /** How long one pull request waits for messages (1..30 s, default 2 s); stop() waits for it. */
  fetchExpiresMs?: number;
  /** Delay before redelivery when a handler throws (default: exponential 1 s..60 s). */
  retryDelayMs?: (deliveryCount: number) => number;
  /**
   * Called once per message with what became of it (for metrics): `durationMs` from receipt to
   * settled, `settleMs` the part spent acking, nak'ing or dead-lettering.
   */
  onSettled?: (kind: SettledKind, durationMs: number, settleMs: number) => void;
}

export interface RunningConsumer {
  /** Messages being handled right now. */
  readonly inFlight: number;
  /** Stops pulling, lets in-flight handlers finish and the outstanding pull expire. */
  stop(): Promise<void>;
  /** Resolves when the loop has ended (after stop(), or when the connection closed). */
  readonly done: Promise<void>;
}

export const MAX_CONCURRENCY = 256;
/** Longest nak delay honoured: a provider's Retry-After beyond it is clamped. */
export const MAX_NAK_DELAY_MS = 15 * 60_000;
const FETCH_ERROR_BACKOFF_MAX_MS = 5_000;

export function defaultRetryDelayMs(deliveryCount: number): number {
  const ceiling = Math.min(60_000, 1_000 * 2 ** Math.min(Math.max(0, deliveryCount - 1), 10));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

export async function startConsumer<Desc extends DescMessage>(
  options: ConsumeOptions<Desc>,
): Promise<RunningConsumer> {
  const { nc, log, concurrency } = options;
  const js = jetstream(nc);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new Error(`concurrency must be 1..${MAX_CONCURRENCY}`);
  }
  const fetchExpiresMs = Math.min(Math.max(options.fetchExpiresMs ?? 2_000, 1_000), 30_000);
  const retryDelay = options.retryDelayMs ?? defaultRetryDelayMs;
  const consumer = await js.consumers.get(options.stream, options.consumer);
  const info = await consumer.info();
  const maxDeliver = info.config.max_deliver ?? -1;
  const ackWaitMs = info.config.ack_wait === undefined ? 30_000 : millis(info.config.ack_wait);
  // Three heartbeats per ack_wait: one lost or late one does not cost the message.
  const heartbeatMs = Math.max(100, Math.floor(ackWaitMs / 3));

  let stopping = false;
  let inFlight = 0;
  const running = new Set<Promise<void>>();
  let wake: (() => void) | undefined;
  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const waitForSlot = () => new Promise<void>((resolve) => (wake = resolve));

  const handle = async (msg: JsMsg): Promise<void> => {
    const started = performance.now();
    const deliveryCount = msg.info.deliveryCount;
    const isLastDelivery = maxDeliver > 0 && deliveryCount >= maxDeliver;
    const context = {
      stream: options.stream,
      consumer: options.consumer,
      subject: msg.subject,
      seq: msg.seq,
      delivery: deliveryCount,
    };
    let message: MessageShape<Desc>;
    try {
      message = fromBinary(options.schema, msg.data);
    } catch (error) {
      log.error({ ...context, err: error }, "undecodable message; dead-lettering it");
      const settling = performance.now();
      await settle(msg, deadLetter("undecodable", errorMessage(error)), context, isLastDelivery);
      const now = performance.now();
      options.onSettled?.("undecodable", now - started, now - settling);
      return;
    }
    // A timer cleared when the handler returns (AbortSignal.timeout would keep each signal and its
    // timer alive for the whole timeout, long after the message was settled).
    const controller = new AbortController();
    const { signal } = controller;
    const deadline =
      options.handlerTimeoutMs === undefined
        ? undefined
        : setTimeout(
            () => controller.abort(new DOMException("handler timed out", "TimeoutError")),
            options.handlerTimeoutMs,
          );
    const heartbeat = setInterval(() => {
      // A handler past its timeout gets no more heartbeats: if it hangs, the message comes back.
      if (!signal.aborted) msg.working();
    }, heartbeatMs);
    let outcome: Outcome;
    try {
      outcome = await options.handler({
        message,
        subject: msg.subject,
        streamSequence: msg.seq,
        deliveryCount,
        maxDeliver,
        isLastDelivery,
        signal,
      });
    } catch (error) {
      log.error({ ...context, err: error }, "handler failed; will retry");
      outcome = nak(retryDelay(deliveryCount));
    } finally {
      clearInterval(heartbeat);
      clearTimeout(deadline);
    }
    const settling = performance.now();
    const settled = await settle(msg, outcome, context, isLastDelivery);
    const now = performance.now();
    options.onSettled?.(settled, now - started, now - settling);
  };

  /** Applies an outcome to the message; returns what was actually done. */
  const settle = async (
    msg: JsMsg,
    outcome: Outcome,
    context: Record<string, unknown>,
    isLastDelivery: boolean,
  ): Promise<SettledKind> => {
    if (outcome.kind === "nak" && isLastDelivery) {
      outcome = deadLetter(
        "max_deliver",
        `still failing on delivery ${msg.info.deliveryCount} of ${maxDeliver}`,
      );
    }
    switch (outcome.kind) {
      case "ack":
        // Sent, not confirmed: waiting for the server's answer would hold the slot for a round trip
        // per message. The ack leaves before the next pull request on the same connection, so the
        // server sees it first; a lost ack only means one redelivery, which handlers absorb (they
        // are idempotent).
        msg.ack();
        return "ack";
      case "nak":
        msg.nak(Math.min(Math.max(0, Math.round(outcome.delayMs)), MAX_NAK_DELAY_MS));
        return "nak";
      case "deadLetter":
        try {
          await publishDeadLetter(js, options.names, {
            stream: options.stream,
            consumer: options.consumer,
            subject: options.names.baseSubject(msg.subject),
            streamSequence: BigInt(msg.seq),
            deliveries: msg.info.deliveryCount,
            reasonCode: outcome.code,
            reasonMessage: outcome.message.slice(0, 1_000),
            payload: msg.data,
            app: options.app,
          });
        } catch (error) {
          // Not recorded: keep the message (it stays in its stream for operators) rather than lose it.
          log.error({ ...context, err: error }, "could not record a dead letter; keeping the message");
          msg.nak(retryDelay(msg.info.deliveryCount));
          return "nak";
        }
        // Bare term(): the server this runs on ignores term("reason") and would redeliver.
        msg.term();
        log.warn({ ...context, code: outcome.code, reason: outcome.message }, "message dead-lettered");
        return "deadLetter";
    }
  };

  const loop = async () => {
    let errors = 0;
    while (!stopping) {
      if (inFlight >= concurrency) {
        await waitForSlot();
        continue;
      }
      try {
        const batch = await consumer.fetch({ max_messages: concurrency - inFlight, expires: fetchExpiresMs });
        for await (const msg of batch) {
          inFlight++;
          const task = handle(msg)
            .catch((error: unknown) => log.error({ err: error }, "message handling failed"))
            .finally(() => {
              inFlight--;
              running.delete(task);
              notify();
            });
          running.add(task);
        }
        errors = 0;
      } catch (error) {
        if (nc.isClosed()) break;
        errors++;
        const backoffMs = Math.min(FETCH_ERROR_BACKOFF_MAX_MS, 100 * 2 ** Math.min(errors, 10));
        log.warn(
          { stream: options.stream, consumer: options.consumer, err: error },
          "fetch failed; retrying",
        );
        // Wakes early on stop().
        await Promise.race([new Promise((resolve) => setTimeout(resolve, backoffMs)), waitForSlot()]);
      }
      if (nc.isClosed()) break;
    }
    await Promise.allSettled([...running]);
  };

  const done = loop();
  return {
    get inFlight() {
      return inFlight;
    },
    async stop() {
      stopping = true;
      notify();
      await done;
    },
    done,
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
