// Idempotency keys: the key and a fingerprint of the request are stored with the command's result in
// the command's own transaction (primary key on the key). A replay returns the stored result; the
// same key with another request is refused.
import { createHash } from "node:crypto";
import { DomainError } from "../domain/errors.js";
import type { EntityManager } from "./database.js";
import { IdempotencyKey } from "./entities.js";

/** sha256 over the command name and a canonical JSON of the request (keys sorted, bigint as text). */
export function fingerprint(command: string, request: object): Buffer {
  return createHash("sha256").update(command).update("\0").update(canonicalJson(request)).digest();
}

/** A key already used: by which command, for which request, with which answer. */
export interface StoredKey {
  readonly command: string;
  readonly fingerprint: Uint8Array;
  readonly result: unknown;
}

/** The stored result of an earlier identical request, or undefined if the key is new. */
export async function findReplay<T>(
  tx: EntityManager,
  key: string,
  command: string,
  requestFingerprint: Buffer,
): Promise<T | undefined> {
  return replayOf<T>((await loadKeys(tx, [key])).get(key), key, command, requestFingerprint);
}

/** The stored keys among `keys`, in one query (for batches). */
export async function loadKeys(tx: EntityManager, keys: readonly string[]): Promise<Map<string, StoredKey>> {
  const rows = await tx.find(IdempotencyKey, { key: { $in: [...new Set(keys)] } });
  return new Map(rows.map((row) => [row.key, row]));
}

/**
 * What a request under an already used key answers: the original result if it is the same request,
 * IDEMPOTENCY_KEY_REUSED if it is another one, undefined if the key was not used.
 */
export function replayOf<T>(
  stored: StoredKey | undefined,
  key: string,
  command: string,
  requestFingerprint: Buffer,
): T | undefined {
  if (stored === undefined) return undefined;
  if (stored.command !== command || !Buffer.from(stored.fingerprint).equals(requestFingerprint)) {
    throw new DomainError(
      "IDEMPOTENCY_KEY_REUSED",
      `idempotency key was already used for a different ${stored.command} request`,
      { metadata: { idempotency_key: key, original_command: stored.command } },
    );
  }
  return decodeResult(stored.result) as T;
}

export function rememberResult(
  tx: EntityManager,
  key: string,
  command: string,
  requestFingerprint: Buffer,
  result: unknown,
  at: Date,
): StoredKey {
  const encoded = encodeResult(result);
  tx.create(IdempotencyKey, {
    key,
    command,
    fingerprint: requestFingerprint,
    result: encoded,
    createdAt: at,
  });
  return { command, fingerprint: requestFingerprint, result: encoded };
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return `${v}n`;
    if (v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
      );
    }
    return v;
  });
}

// Results hold bigint and Date values, which JSON cannot: they are tagged on the way in and restored
// on the way out.
function encodeResult(value: unknown): unknown {
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (value instanceof Date) return { $date: value.toISOString() };
  if (Array.isArray(value)) return value.map(encodeResult);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeResult(v)]));
  }
  return value;
}

function decodeResult(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeResult);
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (typeof record.$bigint === "string") return BigInt(record.$bigint);
    if (typeof record.$date === "string") return new Date(record.$date);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, decodeResult(v)]));
  }
  return value;
}
