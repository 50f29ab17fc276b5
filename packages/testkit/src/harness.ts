// Test harness for the machine's real PostgreSQL and NATS: every test file gets its own database and
// its own stream/subject namespace, so parallel runs and CI never collide and leave nothing behind.
import { randomBytes } from "node:crypto";
import pg from "pg";

/** A connection to the server's maintenance database, used to create and drop test databases. */
export const PG_ADMIN_URL = process.env.PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** A unique lower-case name for test resources, e.g. "t_ledger_3f9a1c2b". */
export function uniqueName(label: string): string {
  const clean = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .slice(0, 24);
  return `t_${clean}_${randomBytes(4).toString("hex")}`;
}

/** Names a fresh database (not created: the code under test creates it, as in production). */
export function testDatabase(label: string): TestDatabase {
  const name = uniqueName(label);
  const admin = new URL(PG_ADMIN_URL);
  const url = `${admin.protocol}//${admin.username}${admin.password ? `:${admin.password}` : ""}@${admin.host}/${name}`;
  return { name, url, drop: () => dropDatabase(name) };
}

export async function dropDatabase(name: string): Promise<void> {
  if (!/^t_[a-z0-9_]+$/.test(name)) throw new Error(`refusing to drop ${name}: not a test database`);
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await client.end();
  }
}

/** Runs SQL against a test database (for assertions on stored state). */
export async function withPg<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A random bearer token of a scope, and the BILLING_TOKENS entry for it. */
export function testToken(scope: string): { token: string; entry: string } {
  const token = `${scope}-${randomBytes(16).toString("hex")}`;
  return { token, entry: `${scope}:${token}` };
}

/**
 * Polls `probe` until it returns a value (not undefined), or fails naming `what`. For state that
 * other processes change (a row written, an event relayed, a message delivered).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
