// What the ledger is configured with (from BILLING_* settings). No I/O.
export interface LedgerConfig {
  /** Operation → price in credits. */
  prices: ReadonlyMap<string, bigint>;
  starterFreeOperations: bigint;
  /** billing.balance.low below this many available credits, unless an admin set another. */
  lowBalanceThresholdCredits: bigint;
  /** Shards per system account (contention on hot system rows divided by this). */
  systemShards: number;
  /**
   * Spending transactions at once. Fewer means larger batches, so PostgreSQL's cost per command
   * (begin, commit, WAL flush) is shared by more commands; more helps only with more database cores.
   */
  batchesInFlight: number;
  /**
   * Commit and Release transactions at once. A batch of them locks the revenue shard of every hold
   * it resolves, so two at once mostly wait on each other's locks in PostgreSQL; one at a time, they
   * wait in the batcher instead and go together (Reserve → Commit pairs then cost PostgreSQL about a
   * third less CPU under `npm run bench`).
   */
  resolutionsInFlight: number;
}
