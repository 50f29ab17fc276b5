// Billing's edge: where it listens and the limits its transport enforces (README, "Operations").
// Each limit bounds memory or time that a caller, authenticated or not, can make the server spend.
import { z } from "zod";
import { positiveInt } from "./fields.js";

/** A listening address: an IPv4/IPv6 literal or a host name (no scheme, no port). */
export const listenHost = z
  .string()
  .regex(
    /^(?:[0-9A-Za-z.-]{1,253}|[0-9A-Fa-f:.]{2,45})$/,
    "must be an address such as 127.0.0.1, ::1 or 0.0.0.0",
  );

/** A port that is off when unset. */
export const optionalPort = z.coerce.number().int().min(0).max(65_535).optional();

const KIB = 1024;

export const edgeLimitsShape = {
  /** Largest request message; billing's largest legitimate request is a few KiB. */
  BILLING_READ_MAX_BYTES: positiveInt(64 * KIB, 4 * KIB * KIB),
  /** SETTINGS_MAX_CONCURRENT_STREAMS, and the calls one connection may have running at once. */
  BILLING_MAX_STREAMS_PER_CONNECTION: positiveInt(100, 1_000),
  /** Calls the whole server may have running at once; more are refused as UNAVAILABLE (retryable). */
  BILLING_MAX_CALLS_IN_FLIGHT: positiveInt(1_000, 100_000),
  /** nghttp2's buffer budget per connection, in MiB (Node's maxSessionMemory). */
  BILLING_MAX_SESSION_MEMORY_MB: positiveInt(10, 1_024),
  /** A connection with no call running for this long is closed (GOAWAY). */
  BILLING_IDLE_TIMEOUT_MS: positiveInt(30_000, 3_600_000),
  /** A new connection must complete its first request's headers within this. */
  BILLING_HEADERS_TIMEOUT_MS: positiveInt(10_000, 600_000),
  /** A request's body must have arrived completely this long after its headers. */
  BILLING_REQUEST_BODY_TIMEOUT_MS: positiveInt(10_000, 600_000),
  /** Deadline of a call that sends no grpc-timeout / connect-timeout-ms. */
  BILLING_DEFAULT_DEADLINE_MS: positiveInt(30_000, 300_000),
  /** A call without a valid token is answered after this pause (a flood then sends far fewer). */
  BILLING_UNAUTHENTICATED_DELAY_MS: z.coerce.number().int().min(0).max(10_000).default(1_000),
  /** How often PostgreSQL's reachability is probed for health and /readyz. */
  BILLING_DB_PROBE_INTERVAL_MS: positiveInt(1_000, 60_000),
};

type EdgeEnv = { [K in keyof typeof edgeLimitsShape]: z.output<(typeof edgeLimitsShape)[K]> };

export interface EdgeLimits {
  readMaxBytes: number;
  maxStreamsPerConnection: number;
  maxCallsInFlight: number;
  maxSessionMemoryMb: number;
  idleTimeoutMs: number;
  headersTimeoutMs: number;
  requestBodyTimeoutMs: number;
  defaultDeadlineMs: number;
  dbProbeIntervalMs: number;
  unauthenticatedDelayMs: number;
}

export function edgeLimitsOf(env: EdgeEnv): EdgeLimits {
  return {
    readMaxBytes: env.BILLING_READ_MAX_BYTES,
    maxStreamsPerConnection: env.BILLING_MAX_STREAMS_PER_CONNECTION,
    maxCallsInFlight: env.BILLING_MAX_CALLS_IN_FLIGHT,
    maxSessionMemoryMb: env.BILLING_MAX_SESSION_MEMORY_MB,
    idleTimeoutMs: env.BILLING_IDLE_TIMEOUT_MS,
    headersTimeoutMs: env.BILLING_HEADERS_TIMEOUT_MS,
    requestBodyTimeoutMs: env.BILLING_REQUEST_BODY_TIMEOUT_MS,
    defaultDeadlineMs: env.BILLING_DEFAULT_DEADLINE_MS,
    dbProbeIntervalMs: env.BILLING_DB_PROBE_INTERVAL_MS,
    unauthenticatedDelayMs: env.BILLING_UNAUTHENTICATED_DELAY_MS,
  };
}
