// PostgreSQL through MikroORM: connect (creating the database if asked), apply the committed
// migrations, and run commands as transactions with bounded retries on transient conflicts.
import { Migrator } from "@mikro-orm/migrations";
import {
  ConnectionException,
  DeadlockException,
  type EntityManager,
  LockWaitTimeoutException,
  MikroORM,
  UniqueConstraintViolationException,
} from "@mikro-orm/postgresql";
import type { Logger } from "@billing/observability";
import type { Pool } from "pg";
import { DomainError } from "../domain/errors.js";
import { allEntities } from "./schema.js";
import { migrationsList } from "./migrations/index.js";

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

/** SQLSTATEs of a lost or refused connection: class 08, server shutting down or starting, too many clients. */
const CONNECTION_SQLSTATE = /^(08...|57P0[123]|53300)$/;
const CONNECTION_ERRNO = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
/** pg and pg-pool report a dropped socket or a connect timeout with a plain Error and these words. */
const CONNECTION_MESSAGE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Client was closed/i;

/**
 * True for failures of the connection to PostgreSQL rather than of the statement: the caller may
 * retry (every mutation is idempotent by its key). Looks through MikroORM's wrapping to the driver.
 */
export function isConnectionFailure(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof ConnectionException) return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && (CONNECTION_SQLSTATE.test(code) || CONNECTION_ERRNO.has(code)))
      return true;
    if (CONNECTION_MESSAGE.test(current.message)) return true;
    current = current.cause;
  }
  return false;
}

/** The database connection failed: nothing was committed, or (`outcomeUnknown`) we cannot tell. */
export function databaseUnavailable(outcomeUnknown: boolean): DomainError {
  return new DomainError(
    "UNAVAILABLE",
    outcomeUnknown
      ? "the database connection failed while committing; retry with the same idempotency key"
      : "the database is unreachable; retry shortly",
    { metadata: { cause: "database", outcome: outcomeUnknown ? "unknown" : "not_committed" } },
  );
}

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

/** Connection errors may quote the URL; keep the reason and code, drop any password. */
export function redactConnectionError(error: unknown): { message: string; code?: string } {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  return {
    message: message.replace(/(postgres(?:ql)?:\/\/[^:/@]+:)[^@]*@/gi, "$1***@"),
    ...(typeof code === "string" ? { code } : {}),
  };
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
