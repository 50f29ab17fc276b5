// One way to connect to NATS: named connections (they show in the server's connection list), and
// reconnecting forever once connected, since every app here outlives a NATS restart.
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";

export interface ConnectOptions {
  /** NATS_URL: one or more comma-separated nats:// URLs. */
  servers: string;
  /** The app, e.g. "worker" or "billing-outbox". */
  name: string;
  /** Bound on establishing the first connection (default 5 s). */
  timeoutMs?: number;
}

export async function connectNats(options: ConnectOptions): Promise<NatsConnection> {
  return connect({
    servers: options.servers.split(",").map((url) => url.trim()),
    name: options.name,
    timeout: options.timeoutMs ?? 5_000,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
    // nats.js otherwise builds an Error (with its stack) for every request and JetStream publish up
    // front, only to enrich a possible timeout: a profile of the worker showed it at ~6 % of its
    // CPU. Timeouts still fail with their message and subject.
    noAsyncTraces: true,
  });
}
