// grpc.health.v1: Check and Watch. The server is NOT_SERVING until PostgreSQL is reachable and the
// migrations are applied, and again from the moment shutdown starts.
import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@billing/proto/grpc/health/v1/health_pb";

export { ServingStatus };

type Listener = () => void;

/** Serving status of the whole server ("") and of each named service, with change notification. */
export class HealthState {
  readonly #status = new Map<string, ServingStatus>();
  readonly #listeners = new Set<Listener>();

  constructor(serviceNames: readonly string[]) {
    for (const name of ["", ...serviceNames]) this.#status.set(name, ServingStatus.NOT_SERVING);
  }

  /** Sets every known service (and the server) at once: the services share one database. */
  setAll(status: ServingStatus): void {
    let changed = false;
    for (const [name, current] of this.#status) {
      if (current !== status) {
        this.#status.set(name, status);
        changed = true;
      }
    }
    if (changed) for (const listener of [...this.#listeners]) listener();
  }

  get(service: string): ServingStatus | undefined {
    return this.#status.get(service);
  }

  get serving(): boolean {
    return this.#status.get("") === ServingStatus.SERVING;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** Upper bound on concurrent Watch streams, so probes cannot pile up without limit. */
const MAX_WATCHERS = 1_000;

export function healthService(state: HealthState): Partial<ServiceImpl<typeof Health>> {
  let watchers = 0;
  return {
    check(request) {
      const status = state.get(request.service);
      if (status === undefined) throw new ConnectError(`unknown service ${request.service}`, Code.NotFound);
      return { status };
    },
    async *watch(request, context) {
      if (watchers >= MAX_WATCHERS)
        throw new ConnectError("too many health watchers", Code.ResourceExhausted);
      watchers++;
      // `dirty` is set by every change, so a change that lands while the consumer is busy with the
      // previous message is never missed.
      let dirty = true;
      let wake: (() => void) | undefined;
      const unsubscribe = state.subscribe(() => {
        dirty = true;
        wake?.();
      });
      const onAbort = () => wake?.();
      context.signal.addEventListener("abort", onAbort);
      try {
        let last: ServingStatus | undefined;
        while (!context.signal.aborted) {
          if (!dirty) await new Promise<void>((resolve) => (wake = resolve));
          dirty = false;
          const status = state.get(request.service) ?? ServingStatus.SERVICE_UNKNOWN;
          if (status !== last && !context.signal.aborted) {
            last = status;
            yield { status };
          }
        }
      } finally {
        watchers--;
        unsubscribe();
        context.signal.removeEventListener("abort", onAbort);
      }
    },
  };
}
