// Health follows PostgreSQL: NOT_SERVING while it cannot be reached, SERVING again once it answers.
// A probe runs every interval, and at once when a call has just failed on a dropped connection.
import type { Logger } from "@billing/observability";

import { type HealthState, ServingStatus } from "./health.js";

export interface DatabaseWatch {
  /** Probe now (coalesced with a probe already running). */
  probeNow(): void;
  stop(): void;
}

export function watchDatabase(options: {
  /** The database being watched: a bounded probe that answers whether it is reachable. */
  db: { isConnected(): Promise<boolean> };
  health: HealthState;
  intervalMs: number;
  log: Logger;
  /** False once shutdown started: health then stays NOT_SERVING. */
  active: () => boolean;
}): DatabaseWatch {
  const { db, health, log } = options;
  let running: Promise<void> | undefined;
  let reachable = true;
  const probe = () => {
    running ??= db
      .isConnected()
      .then((ok) => {
        if (!options.active()) return;
        if (ok !== reachable) {
          if (ok) log.info("database reachable again; serving");
          else log.warn("database unreachable; health NOT_SERVING");
        }
        reachable = ok;
        health.setAll(ok ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
      })
      .finally(() => (running = undefined));
  };
  const timer = setInterval(probe, options.intervalMs).unref();
  return { probeNow: probe, stop: () => clearInterval(timer) };
}
