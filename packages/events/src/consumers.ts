// Durable pull consumers as code. The worker's consumer of jobs is shared by every worker instance:
// each instance ensures it at start-up with the same configuration, and JetStream hands each job to
// one of them. The bot's consumers are here too, so that their bounds are chosen in one place.
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  type JetStreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  ReplayPolicy,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import type { NatsNames } from "./names.js";
import { differingFields } from "./streams.js";

export interface ConsumerBounds {
  /** Deliveries of one message before JetStream stops redelivering it. */
  maxDeliver: number;
  /** Unacked time after which a message is redelivered (a dead worker's job comes back after it). */
  ackWaitMs: number;
  /** Messages delivered and not yet acked, over all instances together. */
  maxAckPending: number;
}

export const DEFAULT_WORKER_CONSUMER: Readonly<ConsumerBounds> = {
  maxDeliver: 5,
  ackWaitMs: 30_000,
  maxAckPending: 1_000,
};

export const DEFAULT_BOT_CONSUMER: Readonly<ConsumerBounds> = {
  maxDeliver: 10,
  ackWaitMs: 30_000,
  maxAckPending: 1_000,
};

/** A consumer definition: which stream it reads, and its configuration. */
export interface ConsumerDefinition {
  readonly stream: string;
  readonly config: ConsumerConfig;
}

function pullConsumer(
  stream: string,
  durable: string,
  description: string,
  filterSubject: string | undefined,
  bounds: ConsumerBounds,
): ConsumerDefinition {
  checkBounds(bounds);
  return {
    stream,
    config: {
      durable_name: durable,
      description,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      replay_policy: ReplayPolicy.Instant,
      ...(filterSubject === undefined ? {} : { filter_subject: filterSubject }),
      ack_wait: nanos(bounds.ackWaitMs),
      max_deliver: bounds.maxDeliver,
      max_ack_pending: bounds.maxAckPending,
      // Outstanding pull requests: one per running fetch loop, with room for many instances.
      max_waiting: 512,
    },
  };
}

/** The workers' shared consumer of jobs.generation.requested. */
export function workerConsumer(names: NatsNames, bounds: Partial<ConsumerBounds> = {}): ConsumerDefinition {
  return pullConsumer(
    names.streams.jobs,
    names.durables.worker,
    "Workers: generation jobs, acked after the hold is resolved and the result published",
    names.subjects.generationRequested,
    { ...DEFAULT_WORKER_CONSUMER, ...bounds },
  );
}

/** The bot's consumer of job results (completed and failed). */
export function botResultsConsumer(
  names: NatsNames,
  bounds: Partial<ConsumerBounds> = {},
): ConsumerDefinition {
  return pullConsumer(
    names.streams.jobResults,
    names.durables.botResults,
    "Bot: job results to deliver to users",
    undefined,
    { ...DEFAULT_BOT_CONSUMER, ...bounds },
  );
}

/** The bot's consumer of billing events (payments, expired holds, …). */
export function botBillingConsumer(
  names: NatsNames,
  bounds: Partial<ConsumerBounds> = {},
): ConsumerDefinition {
  return pullConsumer(
    names.streams.billingEvents,
    names.durables.botBilling,
    "Bot: billing events to tell users about",
    names.subjects.billing,
    { ...DEFAULT_BOT_CONSUMER, ...bounds },
  );
}

function checkBounds(bounds: ConsumerBounds): void {
  if (!Number.isInteger(bounds.maxDeliver) || bounds.maxDeliver < 1 || bounds.maxDeliver > 100) {
    throw new Error("maxDeliver must be 1..100");
  }
  if (!Number.isInteger(bounds.ackWaitMs) || bounds.ackWaitMs < 1_000 || bounds.ackWaitMs > 3_600_000) {
    throw new Error("ackWaitMs must be 1 s..1 h");
  }
  if (!Number.isInteger(bounds.maxAckPending) || bounds.maxAckPending < 1 || bounds.maxAckPending > 100_000) {
    throw new Error("maxAckPending must be 1..100000");
  }
}

/** Creates the durable consumer, or updates it when its configuration drifted. */
export async function ensureConsumer(
  jsm: JetStreamManager,
  definition: ConsumerDefinition,
): Promise<ConsumerInfo> {
  const { stream, config } = definition;
  const durable = config.durable_name;
  if (durable === undefined) throw new Error("a durable consumer needs durable_name");
  let existing: ConsumerInfo | undefined;
  try {
    existing = await jsm.consumers.info(stream, durable);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound))
      throw error;
  }
  if (existing === undefined) {
    try {
      return await jsm.consumers.add(stream, config);
    } catch (error) {
      // Another instance created it first (with this same configuration, or an older one).
      existing = await jsm.consumers.info(stream, durable).catch(() => {
        throw error;
      });
    }
  }
  if (differingFields(config, existing.config).length === 0) return existing;
  const {
    durable_name: _durable,
    ack_policy: _ack,
    deliver_policy: _deliver,
    replay_policy: _replay,
    filter_subject: _filter,
    ...update
  } = config;
  return await jsm.consumers.update(stream, durable, update);
}
