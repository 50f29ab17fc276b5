// Connecting to NATS and creating what an app uses there (streams, consumers, buckets) as one step
// that is retried until it succeeds or the app stops. A JetStream cluster that is forming, or whose
// meta leader is being re-elected, answers set-up calls with timeouts for a few seconds; an app that
// starts then must wait, not exit. Each attempt is bounded (the connect timeout, JetStream's request
// timeout) and the pause between attempts grows to a ceiling.
import type { Logger } from "@billing/observability";
import type { NatsConnection } from "@nats-io/nats-core";
import { setTimeout as sleep } from "node:timers/promises";
import { connectNats } from "./connect.js";

export interface SetUpOptions<T> {
  /** NATS_URL: one or more comma-separated nats:// URLs. */
  servers: string;
  /** The connection's name, e.g. "worker". */
  name: string;
  log: Logger;
  /** Aborting stops retrying; the promise then resolves with undefined. */
  signal: AbortSignal;
  /** Creates what the app needs; must be safe to repeat (every ensure* helper here is). */
  setUp: (nc: NatsConnection) => Promise<T>;
  /** First pause between attempts (default 200 ms); it doubles up to maxDelayMs. */
  baseDelayMs?: number;
  /** Ceiling of the pause between attempts (default 5 s). */
  maxDelayMs?: number;
  /** Bound on each connection attempt (default 5 s). */
  connectTimeoutMs?: number;
}

export interface SetUp<T> {
  readonly nc: NatsConnection;
  /** Whether the connection is up right now (watched from the moment it was made). */
  readonly link: ConnectionWatch;
  readonly value: T;
}

export interface ConnectionWatch {
  readonly up: boolean;
}

/** Pause before attempt `attempt + 1`: exponential with jitter (half to all of the ceiling). */
export function setUpDelayMs(attempt: number, baseDelayMs: number, maxDelayMs: number): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(attempt - 1, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/**
 * Connects and runs `setUp` until both succeed; a connection that works is kept across attempts
 * (only the set-up is repeated on it). Resolves with undefined if `signal` aborts before a set-up
 * succeeded (a set-up that finished is returned even if the signal aborted meanwhile: the caller
 * owns what it created).
 */
export async function connectAndSetUp<T>(options: SetUpOptions<T>): Promise<SetUp<T> | undefined> {
  const { log, signal } = options;
  const baseDelayMs = options.baseDelayMs ?? 200;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  let nc: NatsConnection | undefined;
  let link: ConnectionWatch | undefined;
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      if (nc === undefined || nc.isClosed()) {
        nc = await connectNats({
          servers: options.servers,
          name: options.name,
          ...(options.connectTimeoutMs === undefined ? {} : { timeoutMs: options.connectTimeoutMs }),
        });
        link = watchConnection(nc);
      }
      const value = await options.setUp(nc);
      if (attempt > 1) log.info({ attempt }, "NATS set-up done");
      return { nc, link: link ?? watchConnection(nc), value };
    } catch (error) {
      const retryInMs = setUpDelayMs(attempt, baseDelayMs, maxDelayMs);
      // One line at the start of a streak, then every 10th attempt.
      if (attempt === 1 || attempt % 10 === 0) {
        const stage = nc === undefined || nc.isClosed() ? "connect" : "set-up";
        log.warn({ err: error, attempt, stage, retry_in_ms: retryInMs }, "NATS not ready yet; retrying");
      }
      await sleep(retryInMs, undefined, { signal }).catch(() => undefined);
    }
  }
  await nc?.close().catch(() => undefined);
  return undefined;
}

/**
 * Whether the connection is up right now: false from a disconnect until the client has reconnected
 * (nats.js keeps reconnecting on its own), and for good once closed. For readiness probes.
 */
export function watchConnection(nc: NatsConnection): ConnectionWatch {
  let up = !nc.isClosed();
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect" || status.type === "close") up = false;
      else if (status.type === "reconnect") up = true;
    }
  })().catch(() => undefined);
  return {
    get up() {
      return up && !nc.isClosed();
    },
  };
}
