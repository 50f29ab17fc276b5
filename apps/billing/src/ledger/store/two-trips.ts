// A transaction in two round trips on one of MikroORM's own pooled connections: the first trip opens
// it and runs the reads (locks included), the second runs every write and commits. Each trip is one
// simple-protocol query string holding several statements, so PostgreSQL answers it in one go; the
// values travel as escaped JSON literals (json parameters), never spliced raw.
// The statements are prepared once per connection (SQL PREPARE, sent at the head of the first trip
// that needs them) and then run with EXECUTE, so a batch costs PostgreSQL no parse and no plan.
import type { Pool, PoolClient, QueryResult } from "pg";
import { isConnectionFailure } from "../../db/database.js";

/** Serialization failures, deadlocks and unique-key races: the whole transaction may run again. */
const RETRYABLE = new Set(["40001", "40P01", "23505"]);

/**
 * A statement of the hot path; its parameters `$1`…`$n` are each one JSON value, typed json:
 * PostgreSQL reads it once as the statement consumes it, where jsonb first builds the whole batch
 * into a tree (json_to_recordset took 45 µs for 8 transfer rows, jsonb_to_recordset 75 µs).
 */
export interface PreparedStatement {
  readonly name: string;
  readonly parameters: number;
  readonly sql: string;
}

export function preparedStatement(name: string, parameters: number, sql: string): PreparedStatement {
  return { name, parameters, sql };
}

/**
 * Every statement of the hot path finds its rows by key, so its plans must be index lookups whatever
 * the table statistics say. A prepared statement keeps the generic plan it made on its sixth run:
 * made while a table was new and small (a fresh deployment, a test, a bench), that plan is a
 * sequential scan or a hash join over the whole table, which it then repeats on the grown table
 * until the next ANALYZE. With scans and hash/merge joins off for the transaction, the only plans
 * left are index lookups joined by nested loops, and they are what every plan is made with.
 */
const KEYED_PLANS = [
  "set local enable_seqscan = off",
  "set local enable_hashjoin = off",
  "set local enable_mergejoin = off",
] as const;

/** The statements each connection has prepared (a prepared statement lives as long as its connection). */
const preparedOn = new WeakMap<PoolClient, Set<string>>();

export class TwoTrips {
  #open = false;
  /** Statements the next trip must prepare first: this connection has not prepared them yet. */
  #toPrepare = new Map<string, PreparedStatement>();
  /** Set when a trip that prepared statements failed: the connection's prepared set is then unknown. */
  #prepareFailed = false;

  private constructor(readonly client: PoolClient) {}

  static async connect(pool: Pool): Promise<TwoTrips> {
    return new TwoTrips(await pool.connect());
  }

  /** The text that runs `statement` with `values` (one JSON literal each) in the next trip. */
  execute(statement: PreparedStatement, ...values: unknown[]): string {
    if (values.length !== statement.parameters) {
      throw new Error(
        `statement ${statement.name} takes ${statement.parameters} values, not ${values.length}`,
      );
    }
    if (preparedOn.get(this.client)?.has(statement.name) !== true) {
      this.#toPrepare.set(statement.name, statement);
    }
    if (values.length === 0) return `execute ${statement.name}`;
    return `execute ${statement.name}(${values.map(jsonLiteral).join(", ")})`;
  }

  /**
   * Trip one: BEGIN and the reads; one result per read, in order. A read left out (undefined: it
   * had nothing to look up) is not sent, and its result is undefined.
   */
  async begin(reads: readonly (string | undefined)[]): Promise<(QueryResult | undefined)[]> {
    this.#open = true;
    const sent = reads.filter((read) => read !== undefined);
    const results = (await this.#run(["begin", ...KEYED_PLANS, ...sent])).slice(1 + KEYED_PLANS.length);
    if (results.length !== sent.length) {
      throw new Error("the first trip answered fewer results than it asked");
    }
    let next = 0;
    return reads.map((read) => (read === undefined ? undefined : results[next++]));
  }

  /** Trip two: the writes and COMMIT. */
  async commit(writes: readonly string[]): Promise<void> {
    await this.#run([...writes, "commit"]);
    this.#open = false;
  }

  /** Ends the session: rolls back what is still open and returns the connection (or discards a broken one). */
  async release(error?: unknown): Promise<void> {
    let broken = (error !== undefined && isConnectionFailure(error)) || this.#prepareFailed;
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
    const prepares = [...this.#toPrepare.values()].map(({ name, parameters, sql }) => {
      const types =
        parameters === 0 ? "" : ` (${Array.from({ length: parameters }, () => "json").join(", ")})`;
      return `prepare ${name}${types} as ${sql}`;
    });
    this.#markPrepared();
    let answer: QueryResult | QueryResult[];
    try {
      answer = (await this.client.query([...prepares, ...statements].join(";\n"))) as
        QueryResult | QueryResult[];
    } catch (error) {
      // Which of the PREPAREs ran is unknown: the connection is dropped rather than guessed about.
      if (prepares.length > 0) this.#prepareFailed = true;
      throw error;
    }
    const results = Array.isArray(answer) ? answer : [answer];
    return results.slice(prepares.length);
  }

  #markPrepared(): void {
    if (this.#toPrepare.size === 0) return;
    let prepared = preparedOn.get(this.client);
    if (prepared === undefined) {
      prepared = new Set();
      preparedOn.set(this.client, prepared);
    }
    for (const name of this.#toPrepare.keys()) prepared.add(name);
    this.#toPrepare.clear();
  }
}

/**
 * The JSON literal of a value, safe to splice into a statement. Integers come as decimal text
 * (rows.ts): JSON.stringify without a replacer stays in native code, and refuses a stray bigint.
 */
function jsonLiteral(value: unknown): string {
  return quoteLiteral(JSON.stringify(value));
}

/**
 * `text` as a string literal, the same one pg's escapeLiteral makes (quotes doubled; with a backslash,
 * an E'' literal with backslashes doubled, right whatever standard_conforming_strings says), built
 * with native replaces: escapeLiteral appends one character at a time, and a batch's JSON is long
 * enough for that to be a fifth of everything billing allocates.
 */
export function quoteLiteral(text: string): string {
  const quoted = `'${text.replaceAll("'", "''")}'`;
  return text.includes("\\") ? ` E${quoted.replaceAll("\\", "\\\\")}` : quoted;
}

export function isRetryable(error: unknown): boolean {
  return RETRYABLE.has(sqlState(error));
}

function sqlState(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}
