// The four streams of DESIGN.md ("Events") as code, and ensureStreams(): created when absent, updated
// when their configuration drifted, left alone when equal — safe to run at every start-up, from every
// app and every instance. infra/nats/ holds the same definitions as JSON (checked by a test).
import {
  DiscardPolicy,
  type JetStreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  type StreamConfig,
  StorageType,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import type { NatsNames, StreamKey } from "./names.js";

export interface StreamLimits {
  /** Messages older than this are dropped (the job, its result or the event is then history). */
  maxAgeMs: number;
  /** Bound on the stream's storage; JetStream reserves it at creation. */
  maxBytes: number;
  /** Bound on one message: payloads reference images in the object store, never inline them. */
  maxMsgSizeBytes: number;
  /** Publishes with the same Nats-Msg-Id within this window are stored once. */
  duplicateWindowMs: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const MIB = 1024 * 1024;

/**
 * Production bounds. The dedupe window is 10 minutes everywhere: long enough to cover a publisher's
 * retries and an outbox relay restarted after a crash, short enough that the server's table of recent
 * message ids stays small under load (consumers dedupe by event id beyond it).
 */
export const DEFAULT_STREAM_LIMITS: Readonly<Record<StreamKey, StreamLimits>> = {
  // A queued job must outlive the longest hold (24 h): after that its hold has expired anyway.
  jobs: {
    maxAgeMs: 25 * HOUR_MS,
    maxBytes: 1024 * MIB,
    maxMsgSizeBytes: 64 * 1024,
    duplicateWindowMs: 10 * MINUTE_MS,
  },
  jobResults: {
    maxAgeMs: 7 * DAY_MS,
    maxBytes: 1024 * MIB,
    maxMsgSizeBytes: 64 * 1024,
    duplicateWindowMs: 10 * MINUTE_MS,
  },
  billingEvents: {
    maxAgeMs: 30 * DAY_MS,
    maxBytes: 2048 * MIB,
    maxMsgSizeBytes: 64 * 1024,
    duplicateWindowMs: 10 * MINUTE_MS,
  },
  deadLetter: {
    maxAgeMs: 30 * DAY_MS,
    maxBytes: 512 * MIB,
    maxMsgSizeBytes: 1024 * 1024,
    duplicateWindowMs: 10 * MINUTE_MS,
  },
};

export interface StreamOptions {
  /** Per-stream overrides of DEFAULT_STREAM_LIMITS (tests use small ones). */
  limits?: Partial<Record<StreamKey, Partial<StreamLimits>>>;
  /** 1 on a single server; 3 on the production cluster. */
  replicas?: number;
}

/** The configuration of every stream of a namespace, in a fixed order. */
export function streamConfigs(names: NatsNames, options: StreamOptions = {}): StreamConfig[] {
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new Error("replicas must be 1..5");
  const limitsOf = (key: StreamKey): StreamLimits => ({
    ...DEFAULT_STREAM_LIMITS[key],
    ...options.limits?.[key],
  });
  const config = (
    key: StreamKey,
    description: string,
    subjects: string[],
    retention: RetentionPolicy,
    discard: DiscardPolicy,
  ): StreamConfig => {
    const limits = limitsOf(key);
    if (limits.duplicateWindowMs > limits.maxAgeMs) {
      throw new Error(`${names.streams[key]}: the duplicate window cannot be longer than max age`);
    }
    return {
      name: names.streams[key],
      description,
      subjects,
      retention,
      storage: StorageType.File,
      num_replicas: replicas,
      discard,
      max_age: nanos(limits.maxAgeMs),
      max_bytes: limits.maxBytes,
      max_msg_size: limits.maxMsgSizeBytes,
      max_msgs: -1,
      max_msgs_per_subject: -1,
      max_consumers: -1,
      duplicate_window: nanos(limits.duplicateWindowMs),
      allow_rollup_hdrs: false,
      allow_direct: false,
      mirror_direct: false,
      deny_delete: false,
      deny_purge: false,
      sealed: false,
    } as StreamConfig;
  };
  return [
    // Work queue: a job is removed once a worker acks it. When full, refuse new jobs (the bot
    // releases the hold and tells the user) rather than silently drop queued, paid ones.
    config(
      "jobs",
      "Generation jobs (bot → worker), one message per job, Nats-Msg-Id = job id",
      [names.subjects.generationRequested],
      RetentionPolicy.Workqueue,
      DiscardPolicy.New,
    ),
    config(
      "jobResults",
      "Generation results (worker → bot): completed or failed, Nats-Msg-Id = <job id>:<outcome>",
      [names.subjects.generationCompleted, names.subjects.generationFailed],
      RetentionPolicy.Limits,
      DiscardPolicy.Old,
    ),
    config(
      "billingEvents",
      "Billing domain events from the transactional outbox, Nats-Msg-Id = event id",
      [names.subjects.billing],
      RetentionPolicy.Limits,
      DiscardPolicy.Old,
    ),
    config(
      "deadLetter",
      "Messages a consumer gave up on (events.v1.DeadLetter), for operators",
      [names.subjects.deadLetter],
      RetentionPolicy.Limits,
      DiscardPolicy.Old,
    ),
  ];
}

export type EnsureOutcome = "created" | "updated" | "unchanged";

/** Fields the server may not change on an existing stream: a difference there needs an operator. */
const IMMUTABLE: readonly (keyof StreamConfig)[] = ["retention", "storage"];

/**
 * Creates or updates every stream of the namespace. Several instances may run it at once: a
 * creation race ends with the loser updating to the same configuration.
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  names: NatsNames,
  options: StreamOptions = {},
): Promise<Record<string, EnsureOutcome>> {
  const outcomes: Record<string, EnsureOutcome> = {};
  for (const wanted of streamConfigs(names, options)) {
    outcomes[wanted.name] = await ensureStream(jsm, wanted);
  }
  return outcomes;
}

export async function ensureStream(jsm: JetStreamManager, wanted: StreamConfig): Promise<EnsureOutcome> {
  const existing = await streamInfoOrUndefined(jsm, wanted.name);
  if (existing === undefined) {
    try {
      await jsm.streams.add(wanted);
      return "created";
    } catch (error) {
      // Another instance created it between our lookup and our add: fall through to compare.
      if ((await streamInfoOrUndefined(jsm, wanted.name)) === undefined) throw error;
    }
  }
  const current = (await jsm.streams.info(wanted.name)).config;
  const differing = differingFields(wanted, current);
  if (differing.length === 0) return "unchanged";
  const immutable = differing.filter((field) => IMMUTABLE.includes(field));
  if (immutable.length > 0) {
    throw new Error(
      `stream ${wanted.name} exists with another ${immutable.join(", ")}; that cannot be updated in place — ` +
        `migrate it by hand (see infra/nats/README.md)`,
    );
  }
  const { name, retention: _retention, storage: _storage, ...update } = wanted;
  await jsm.streams.update(name, update);
  return "updated";
}

/** The fields of `wanted` whose value differs on the server (fields the server adds are ignored). */
export function differingFields<T extends object>(wanted: T, current: T): (keyof T)[] {
  return (Object.keys(wanted) as (keyof T)[]).filter(
    (key) => JSON.stringify(wanted[key]) !== JSON.stringify(current[key]),
  );
}

async function streamInfoOrUndefined(jsm: JetStreamManager, name: string) {
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)
      return undefined;
    throw error;
  }
}
