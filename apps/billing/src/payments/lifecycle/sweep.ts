// The sweep: re-reads unsettled payments and refunds whose time came (a lost notification never
// loses money) and resumes creates that never got an answer, through the one lifecycle.
import type { Logger } from "@billing/observability";
import type { PaymentsStore, TrackedTable } from "../store/store.js";
import type { Lifecycle } from "./lifecycle.js";
import type { TrackedRemote, TrackedRow } from "./subject.js";

export interface SweepTarget {
  readonly table: TrackedTable;
  /** Loads the row and runs it through its lifecycle. */
  readonly sync: (id: string) => Promise<unknown>;
}

export function sweepTarget<Row extends TrackedRow, Remote extends TrackedRemote, View>(
  table: TrackedTable,
  load: (id: string) => Promise<Row>,
  lifecycle: Lifecycle<Row, Remote, View>,
): SweepTarget {
  return { table, sync: async (id) => lifecycle.sync(await load(id)) };
}

/** Claims up to `limit` due rows of each target and syncs them one by one; returns how many. */
export async function sweep(
  store: PaymentsStore,
  log: Logger,
  claim: { now: Date; next: Date; limit: number },
  targets: readonly SweepTarget[],
): Promise<number[]> {
  const counts: number[] = [];
  for (const target of targets) {
    const ids = await store.claimDue(target.table, claim.now, claim.next, claim.limit);
    for (const id of ids) {
      try {
        await target.sync(id);
      } catch (error) {
        log.warn(
          { table: target.table, id, err: error },
          "sweep could not settle a row; it is retried later",
        );
      }
    }
    counts.push(ids.length);
  }
  return counts;
}
