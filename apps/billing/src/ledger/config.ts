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
}
