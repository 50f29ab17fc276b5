// What the ledger's cold paths (grants.ts, refunds.ts, top-ups.ts) run with: one MikroORM
// transaction each, on the accounts they lock. No I/O of its own.
import type { Database } from "../db/database.js";
import type { LedgerConfig } from "./config.js";
import type { LowBalance } from "./low-balance.js";
import type { AccountDirectory } from "./store/accounts.js";

export interface ColdPath {
  readonly db: Database;
  readonly accounts: AccountDirectory;
  readonly config: LedgerConfig;
  readonly lowBalance: LowBalance;
  /** Time of the cold paths' rows (the hot path reads the database's clock with its locks). */
  now(): Date;
}
