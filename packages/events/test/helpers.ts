// A NATS namespace per test: its own streams, consumers and buckets, deleted afterwards.
import { createLogger } from "@billing/observability";
import { NATS_URL, uniqueName } from "@billing/testkit";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import {
  COMPACT_STREAM_OPTIONS,
  connectNats,
  deleteNamespace,
  ensureStreams,
  natsNames,
  type NatsNames,
} from "../src/index.js";

export const log = createLogger({ app: "events-test", level: process.env.TEST_LOG_LEVEL ?? "silent" });

export interface TestNamespace {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: NatsNames;
}

export async function openNamespace(label: string): Promise<TestNamespace & { close(): Promise<void> }> {
  const nc = await connectNats({ servers: NATS_URL, name: `test-${label}` });
  const names = natsNames(uniqueName(label));
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

export { waitFor } from "@billing/testkit";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
