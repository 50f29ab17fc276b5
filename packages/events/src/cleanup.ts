// Namespaces of tests and experiments: one opened with its streams, and the clean-up that removes
// every stream and bucket of a namespace. Refuses the production (empty) namespace, so a test can
// never delete the real streams.
import {
  type JetStreamClient,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { BucketOptions } from "./objects.js";
import { connectNats } from "./connect.js";
import { natsNames, type NatsNames } from "./names.js";
import { ensureStreams, type StreamOptions } from "./streams.js";

export async function deleteNamespace(nc: NatsConnection, names: NatsNames): Promise<void> {
  if (names.namespace === "") throw new Error("refusing to delete the production (empty) namespace");
  const jsm = await jetstreamManager(nc);
  // Object stores live in streams named OBJ_<bucket>.
  const streams = [...Object.values(names.streams), ...Object.values(names.buckets).map((b) => `OBJ_${b}`)];
  for (const stream of streams) {
    try {
      await jsm.streams.delete(stream);
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound))
        throw error;
    }
  }
}

const MIB = 1024 * 1024;

/**
 * Small bounds for tests and local experiments: JetStream reserves a stream's max_bytes when it is
 * created, and many test namespaces side by side should not reserve gigabytes each.
 */
export const COMPACT_STREAM_OPTIONS: StreamOptions = {
  limits: {
    jobs: { maxBytes: 8 * MIB },
    jobResults: { maxBytes: 8 * MIB },
    billingEvents: { maxBytes: 8 * MIB },
    deadLetter: { maxBytes: 4 * MIB },
  },
};

export const COMPACT_BUCKET_OPTIONS: BucketOptions = {
  limits: { jobInputs: { maxBytes: 32 * MIB }, jobResults: { maxBytes: 64 * MIB } },
};

/**
 * Production bounds in the production namespace, compact ones in any other (tests, experiments);
 * `replicas` from NATS_STREAM_REPLICAS (3 on the production cluster).
 */
export function streamOptionsFor(names: NatsNames, replicas = 1): StreamOptions {
  return { ...(names.namespace === "" ? {} : COMPACT_STREAM_OPTIONS), replicas };
}

export function bucketOptionsFor(names: NatsNames, replicas = 1): BucketOptions {
  return { ...(names.namespace === "" ? {} : COMPACT_BUCKET_OPTIONS), replicas };
}

/** A namespace of its own (tests, experiments): a connection, its streams, and a close that deletes them. */
export interface OwnNamespace {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: NatsNames;
  /** Deletes the namespace's streams and buckets, then closes the connection. */
  close(): Promise<void>;
}

/** Connects and creates the streams of `namespace` with compact bounds: the one way tests get NATS. */
export async function openNamespace(options: {
  servers: string;
  namespace: string;
  /** The connection's name, as the server shows it. */
  name: string;
}): Promise<OwnNamespace> {
  const nc = await connectNats({ servers: options.servers, name: options.name });
  const names = natsNames(options.namespace);
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, names, COMPACT_STREAM_OPTIONS);
  return {
    nc,
    js: jetstream(nc),
    jsm,
    names,
    async close() {
      await deleteNamespace(nc, names);
      await nc.close();
    },
  };
}
