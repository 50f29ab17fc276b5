// The gate every call passes after its headers arrive and BEFORE its body is read: authentication,
// readiness and admission (calls in flight per connection and per server). A refused call costs a
// hash and a few counters, never a buffered body. The gate also watches how the call ends, so that
// a request body that cannot be decoded is answered INVALID_ARGUMENT instead of the framework's
// INTERNAL (see decode-errors.ts).
import { Code, ConnectError, createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { Scope } from "@billing/config";
import { Counter, type Logger, type Registry } from "@billing/observability";
import { DomainError } from "../domain/errors.js";
import type { Admission, Ticket } from "../transport/admission.js";
import { type Authenticator, isOpen } from "./auth.js";
import { reclassifyDecodeError } from "./decode-errors.js";
import { toConnectError } from "./errors.js";

/** The connection (HTTP/2 session or socket) a call arrived on; set by the node adapter. */
export const CONNECTION = createContextKey<object | undefined>(undefined, { description: "connection" });
/** The admission ticket of the call; the interceptor holds it while the handler runs. */
export const TICKET = createContextKey<Ticket | undefined>(undefined, { description: "admission ticket" });
/** The caller's scope, for the call's log line. */
export const SCOPE = createContextKey<Scope | undefined>(undefined, { description: "caller scope" });

export interface RequestGateOptions {
  auth: Authenticator;
  admission: Admission;
  /** False while starting or shutting down. */
  isReady: () => boolean;
  /** Pause before answering UNAUTHENTICATED (0 = none); at most MAX_DELAYED calls wait at once. */
  unauthenticatedDelayMs: number;
  log: Logger;
  registry: Registry;
}

export function createRequestGate(options: RequestGateOptions): (context: HandlerContext) => Promise<void> {
  const refused = new Counter({
    name: "billing_rpc_refused_total",
    help: "Calls refused before their body was read, by procedure and gRPC code.",
    labelNames: ["procedure", "code"] as const,
    registers: [options.registry],
  });
  const undecodable = new Counter({
    name: "billing_rpc_undecodable_total",
    help: "Calls whose request message could not be decoded (answered INVALID_ARGUMENT).",
    labelNames: ["procedure"] as const,
    registers: [options.registry],
  });
  const anonymousLog = new LogBudget(ANONYMOUS_LOG_LINES_PER_SECOND);
  let delayed = 0;
  return async (context) => {
    const procedure = `${context.service.typeName}/${context.method.name}`;
    try {
      admitCall(context, procedure, options);
    } catch (error) {
      const wire = error instanceof DomainError ? toConnectError(error) : ConnectError.from(error);
      const code = Code[wire.code];
      refused.inc({ procedure, code });
      // One line per refused call, like every call; a flood without a token gets a budget.
      const suppressed = wire.code === Code.Unauthenticated ? anonymousLog.take() : 0;
      if (suppressed !== undefined) {
        const scope = context.values.get(SCOPE);
        options.log.info(
          { procedure, code, scope, refused: wire.rawMessage, ...(suppressed > 0 ? { suppressed } : {}) },
          "rpc",
        );
      }
      // A tarpit: a flood without a token waits for each answer (its stream's flow-control
      // window is all it holds meanwhile); the number waiting is bounded.
      if (wire.code === Code.Unauthenticated && options.unauthenticatedDelayMs > 0 && delayed < MAX_DELAYED) {
        delayed++;
        await pause(options.unauthenticatedDelayMs, context.signal).finally(() => delayed--);
      }
      throw wire;
    }
    context.signal.addEventListener(
      "abort",
      () => {
        context.values.get(TICKET)?.release();
        const reclassified = reclassifyDecodeError(context.signal.reason);
        if (reclassified !== undefined) {
          undecodable.inc({ procedure });
          options.log.warn(
            { procedure, scope: context.values.get(SCOPE), reason: reclassified },
            "undecodable request",
          );
        }
      },
      { once: true },
    );
  };
}

const ANONYMOUS_LOG_LINES_PER_SECOND = 20;
const MAX_DELAYED = 1_000;

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** At most `perSecond` lines a second; `take()` says how many were skipped since, or undefined to skip. */
class LogBudget {
  #windowStart = 0;
  #used = 0;
  #skipped = 0;
  constructor(readonly perSecond: number) {}

  take(): number | undefined {
    const now = Date.now();
    if (now - this.#windowStart >= 1_000) {
      this.#windowStart = now;
      this.#used = 0;
    }
    if (this.#used >= this.perSecond) {
      this.#skipped++;
      return undefined;
    }
    this.#used++;
    const skipped = this.#skipped;
    this.#skipped = 0;
    return skipped;
  }
}

function admitCall(context: HandlerContext, procedure: string, options: RequestGateOptions): void {
  if (!isOpen(context.service.typeName)) {
    context.values.set(SCOPE, options.auth.authorize(procedure, context.requestHeader.get("authorization")));
    if (!options.isReady()) {
      throw new DomainError("UNAVAILABLE", "billing is starting or shutting down; retry shortly", {
        metadata: { cause: "not_ready" },
      });
    }
  }
  // Long-lived streams (health Watch, reflection) would hold a place for as long as they stay open:
  // they are bounded per connection (streams) and by their own caps, not by the calls-in-flight budget.
  if (context.method.methodKind !== "unary") return;
  const ticket = options.admission.admit(context.values.get(CONNECTION) ?? context);
  if (typeof ticket === "string") {
    throw new DomainError("UNAVAILABLE", `too many calls in flight on this ${ticket}; retry shortly`, {
      metadata: { cause: "overloaded", limit: ticket },
    });
  }
  context.values.set(TICKET, ticket);
}
