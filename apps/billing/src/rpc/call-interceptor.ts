// Every admitted call passes through here once (the request gate has already authenticated it):
// request id, a default deadline, control characters refused in every string field, error mapping
// to the wire, one structured log line, metrics, and the in-flight count that shutdown waits on.
import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "@billing/observability";
import { Histogram, type Registry } from "@billing/observability";
import { isConnectionFailure } from "../db/connection-errors.js";
import { DomainError } from "../domain/errors.js";
import { withCallerScope } from "../observability/effects.js";
import type { Ticket } from "../transport/admission.js";
import { toWireError } from "./errors.js";
import { SCOPE, TICKET } from "./request-gate.js";
import { refuseControlCharacters } from "./validate.js";

export interface CallTracker {
  /** Unary calls running now. */
  readonly inFlight: number;
  /** Resolves when no unary call is running. */
  idle(): Promise<void>;
}

export interface CallInterceptorOptions {
  log: Logger;
  registry: Registry;
  /** Deadline of a unary call whose caller set none. */
  defaultDeadlineMs: number;
  /** Called when a call failed because PostgreSQL is unreachable (health re-probes at once). */
  onDatabaseUnavailable?: () => void;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TIMEOUT_HEADERS = ["grpc-timeout", "connect-timeout-ms"];
/**
 * A call this slow is logged at info even when it succeeds. Successful calls otherwise log at debug:
 * at a thousand calls a second the line cost ~13 % of billing's CPU, and the per-procedure counts
 * and latencies are in billing_rpc_duration_seconds, money effects in the audit log.
 */
const SLOW_CALL_MS = 500;

export function createCallInterceptor(options: CallInterceptorOptions): {
  interceptor: Interceptor;
  tracker: CallTracker;
} {
  const duration = new Histogram({
    name: "billing_rpc_duration_seconds",
    help: "Duration of billing RPCs by procedure and gRPC code.",
    labelNames: ["procedure", "code"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [options.registry],
  });
  let inFlight = 0;
  let idleWaiters: (() => void)[] = [];

  const interceptor: Interceptor = (next) => async (request) => {
    const procedure = `${request.service.typeName}/${request.method.name}`;
    const incomingId = request.header.get("x-request-id");
    const requestId = incomingId !== null && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const started = performance.now();
    const tracked = !request.stream;
    // The admission ticket is held until the handler's work is over, even past a deadline.
    const ticket = request.contextValues.get(TICKET);
    ticket?.hold();
    let work: Promise<unknown> | undefined;
    if (tracked) inFlight++;
    let code = "ok";
    try {
      if (!request.stream) refuseControlCharacters(request.method.input, request.message);
      const running = withCallerScope(request.contextValues.get(SCOPE), () => next(request));
      work = running;
      const hasDeadline = TIMEOUT_HEADERS.some((name) => request.header.has(name));
      const response = await (request.stream || hasDeadline
        ? running
        : withDeadline(running, options.defaultDeadlineMs));
      response.header.set("x-request-id", requestId);
      return response;
    } catch (error) {
      const { wire, unexpected } = toWireError(error);
      code = Code[wire.code];
      wire.metadata.set("x-request-id", requestId);
      if (unexpected) options.log.error({ err: error, procedure, request_id: requestId }, "unexpected error");
      if (isDatabaseOutage(error)) options.onDatabaseUnavailable?.();
      throw wire;
    } finally {
      const durationMs = performance.now() - started;
      duration.observe({ procedure, code }, durationMs / 1000);
      const level = code === "ok" && durationMs < SLOW_CALL_MS ? "debug" : "info";
      if (options.log.isLevelEnabled(level)) {
        options.log[level](
          {
            procedure,
            code,
            duration_ms: Math.round(durationMs * 100) / 100,
            request_id: requestId,
            scope: request.contextValues.get(SCOPE),
          },
          "rpc",
        );
      }
      if (work === undefined) ticket?.release();
      else work.then(release(ticket), release(ticket));
      if (tracked && --inFlight === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const wake of waiters) wake();
      }
    }
  };

  const tracker: CallTracker = {
    get inFlight() {
      return inFlight;
    },
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve))),
  };
  return { interceptor, tracker };
}

/** The answer, or DEADLINE_EXCEEDED after `ms`; the work itself runs on (its ticket stays held). */
async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(new ConnectError(`no answer within the default deadline of ${ms} ms`, Code.DeadlineExceeded)),
      ms,
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function release(ticket: Ticket | undefined): () => void {
  return () => ticket?.release();
}

function isDatabaseOutage(error: unknown): boolean {
  return error instanceof DomainError
    ? error.detail.metadata?.cause === "database"
    : isConnectionFailure(error);
}
