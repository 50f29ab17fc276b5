// Every call passes through here once: request id, authentication, readiness, error mapping to the
// wire, one structured log line, metrics, and the in-flight count that graceful shutdown waits on.
import { randomUUID } from "node:crypto";
import { Code, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "@billing/observability";
import { Histogram, type Registry } from "@billing/observability";
import { DomainError } from "../domain/errors.js";
import { withCallerScope } from "../observability/effects.js";
import { type Authenticator, isOpen } from "./auth.js";
import { toWireError } from "./errors.js";

export interface CallTracker {
  /** Unary calls running now. */
  readonly inFlight: number;
  /** Resolves when no unary call is running. */
  idle(): Promise<void>;
}

export interface CallInterceptorOptions {
  auth: Authenticator;
  log: Logger;
  registry: Registry;
  /** False while starting (database not ready) or shutting down. */
  isReady: () => boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

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
    if (tracked) inFlight++;
    let code = "ok";
    let scope: string | undefined;
    try {
      if (!isOpen(request.service.typeName)) {
        scope = options.auth.authorize(procedure, request.header.get("authorization"));
        if (!options.isReady()) {
          throw new DomainError("UNAVAILABLE", "billing is starting or shutting down; retry shortly");
        }
      }
      const response = await withCallerScope(scope, () => next(request));
      response.header.set("x-request-id", requestId);
      return response;
    } catch (error) {
      const { wire, unexpected } = toWireError(error);
      code = Code[wire.code];
      wire.metadata.set("x-request-id", requestId);
      if (unexpected) options.log.error({ err: error, procedure, request_id: requestId }, "unexpected error");
      throw wire;
    } finally {
      const durationMs = performance.now() - started;
      duration.observe({ procedure, code }, durationMs / 1000);
      options.log.info(
        { procedure, code, duration_ms: Math.round(durationMs * 100) / 100, request_id: requestId, scope },
        "rpc",
      );
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
