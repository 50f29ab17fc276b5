// A transaction in two round trips on one of MikroORM's own pooled connections: the first trip opens
// it and runs the reads (locks included), the second runs every write and commits. Each trip is one
// simple-protocol query string holding several statements, so PostgreSQL answers it in one go; the
// values travel as one escaped JSON literal per statement (jsonb_to_recordset), never spliced raw.
import type { Pool, PoolClient, QueryResult } from "pg";
import { isConnectionFailure } from "../../db/database.js";

/** Serialization failures, deadlocks and unique-key races: the whole transaction may run again. */
const RETRYABLE = new Set(["40001", "40P01", "23505"]);

export class TwoTrips {
  #open = false;

  private constructor(readonly client: PoolClient) {}

  static async connect(pool: Pool): Promise<TwoTrips> {
    return new TwoTrips(await pool.connect());
  }

  /** The JSON literal of a value (bigint as text), safe to splice into a statement. */
  literal(value: unknown): string {
    return this.client.escapeLiteral(
      JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
    );
  }

  /** Trip one: BEGIN and the reads; one result per read, in order. */
  async begin(reads: readonly string[]): Promise<QueryResult[]> {
    this.#open = true;
    const results = await this.#run(["begin", ...reads]);
    return results.slice(1);
  }

  /** Trip two: the writes and COMMIT. */
  async commit(writes: readonly string[]): Promise<void> {
    await this.#run([...writes, "commit"]);
    this.#open = false;
  }

  /** Ends the session: rolls back what is still open and returns the connection (or discards a broken one). */
  async release(error?: unknown): Promise<void> {
    let broken = error !== undefined && isConnectionFailure(error);
    if (this.#open && !broken) {
      try {
        await this.client.query("rollback");
      } catch {
        broken = true;
      }
    }
    this.client.release(broken);
  }

  async #run(statements: readonly string[]): Promise<QueryResult[]> {
    const answer = (await this.client.query(statements.join(";\n"))) as QueryResult | QueryResult[];
    return Array.isArray(answer) ? answer : [answer];
  }
}

export function isRetryable(error: unknown): boolean {
  return RETRYABLE.has(sqlState(error));
}

function sqlState(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}
