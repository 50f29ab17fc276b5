// PostgreSQL through MikroORM: connect (creating the database if asked), apply the committed
// migrations, and run commands as transactions with bounded retries on transient conflicts.
import { Migrator } from "@mikro-orm/migrations";
import {
  DeadlockException,
  type EntityManager,
  LockWaitTimeoutException,
  MikroORM,
  UniqueConstraintViolationException,
} from "@mikro-orm/postgresql";
import type { Logger } from "@billing/observability";
import type { Pool } from "pg";
import { allEntities } from "./schema.js";
import { migrationsList } from "./migrations/index.js";
import { databaseUnavailable, isConnectionFailure, redactConnectionError } from "./connection-errors.js";

export { databaseUnavailable, isConnectionFailure, redactConnectionError };

export type { EntityManager };

export interface DatabaseOptions {
  url: string;
  poolMax: number;
  createDatabase: boolean;
  log: Logger;
}

export interface Database {
  readonly orm: MikroORM;
  /** Runs `work` in one transaction; retried (bounded) on deadlocks, serialization failures and key races. */
  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T>;
  /** A fresh EntityManager for reads outside a transaction. */
  reader(): EntityManager;
  /** MikroORM's own pg pool, for the set-based hot path (ledger/store). */
  pool(): Promise<Pool>;
  isConnected(): Promise<boolean>;
  close(): Promise<void>;
}

const MAX_ATTEMPTS = 5;
/** A connection that cannot be made (or a pool slot not found) in this long is an outage. */
const CONNECT_TIMEOUT_MS = 5_000;
const PROBE_TIMEOUT_MS = 2_000;
const CLOSE_TIMEOUT_MS = 5_000;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const orm = await MikroORM.init({
    clientUrl: options.url,
    entities: allEntities,
    extensions: [Migrator],
    migrations: { migrationsList, snapshot: false, transactional: true, allOrNothing: true, silent: true },
    pool: { min: 0, max: options.poolMax },
    // Without these a dead network holds every call until its deadline (pg waits forever by default).
    driverOptions: { connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true },
    // Entities are defined in code; never let a stale cache or discovery by path interfere.
    discovery: { warnWhenNoEntities: true },
    debug: false,
    allowGlobalContext: false,
  });
  try {
    if (options.createDatabase) await orm.schema.ensureDatabase({ create: true });
  } catch (error) {
    await orm.close(true);
    throw error;
  }

  const transaction = async <T>(work: (tx: EntityManager) => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      // Set once the work is flushed: a connection lost after that may have lost COMMIT's answer.
      let committing = false;
      try {
        return await orm.em.fork().transactional(async (tx) => {
          const result = await work(tx);
          await tx.flush();
          committing = true;
          return result;
        });
      } catch (error) {
        if (isConnectionFailure(error)) {
          if (committing) {
            options.log.error(
              { err: redactConnectionError(error), outcome: "unknown" },
              "database connection lost while committing: the transaction may or may not have committed",
            );
          }
          throw databaseUnavailable(committing);
        }
        // Deadlocks and serialization failures resolve by retrying; a unique-key race means a
        // concurrent twin committed first, and the retry will read its result (idempotent replay).
        const retryable =
          error instanceof DeadlockException ||
          error instanceof LockWaitTimeoutException ||
          error instanceof UniqueConstraintViolationException ||
          (error as { code?: unknown }).code === "40001";
        if (!retryable || attempt >= MAX_ATTEMPTS) throw error;
        options.log.debug({ attempt, err: error }, "retrying transaction");
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
  };

  return {
    orm,
    transaction,
    reader: () => orm.em.fork(),
    pool: () => orm.em.getConnection().getNativeClient(),
    isConnected: () => probe(orm),
    // A connection lost mid-COMMIT can stay checked out of the pool (MikroORM 7.2 / kysely never
    // release it), and pg-pool's end() would wait for it forever: bound the wait.
    close: async () => void (await withTimeout(orm.close(true), CLOSE_TIMEOUT_MS)),
  };
}

/** One `select 1`, bounded in time: a blackholed network answers false, not never. */
async function probe(orm: MikroORM): Promise<boolean> {
  try {
    return (await withTimeout(orm.checkConnection(), PROBE_TIMEOUT_MS))?.ok ?? false;
  } catch {
    return false;
  }
}

/** `work`'s result, or undefined once `ms` have passed. */
async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Applies pending migrations; several instances starting at once serialize on an advisory lock. */
export async function migrate(db: Database): Promise<string[]> {
  // The lock is taken in a transaction of its own that stays open while the migrator runs on
  // another pooled connection: a second instance waits here, then finds nothing pending.
  return await db.orm.em.fork().transactional(async (tx) => {
    await tx.execute("select pg_advisory_xact_lock(727274)");
    const applied = await db.orm.migrator.up();
    return applied.map((m) => m.name);
  });
}
