// Instants as the ledger counts them: microseconds since the Unix epoch on the database's clock
// (booked_at's clock), and their protobuf Timestamp.
import type { EntityManager } from "../../src/db/database.js";

/** The database's clock now, in microseconds. */
export async function databaseMicros(em: EntityManager): Promise<bigint> {
  const [row] = await em.execute<{ now: string }[]>(
    `select floor(extract(epoch from clock_timestamp()) * 1000000)::bigint::text as now`,
  );
  if (row === undefined) throw new Error("the database answered no clock");
  return BigInt(row.now);
}

export function timestampOf(micros: bigint): { seconds: bigint; nanos: number } {
  const seconds = micros / 1_000_000n;
  return { seconds, nanos: Number(micros - seconds * 1_000_000n) * 1000 };
}

export function microsOf(timestamp: { seconds: bigint; nanos: number } | undefined): bigint {
  if (timestamp === undefined) throw new Error("no timestamp");
  return timestamp.seconds * 1_000_000n + BigInt(Math.floor(timestamp.nanos / 1000));
}
