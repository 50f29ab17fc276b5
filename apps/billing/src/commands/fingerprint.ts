// What makes two requests "the same": sha256 over the command name and a canonical JSON of the
// request (keys sorted, bigint as text). And the stored form of an answer, which holds bigint and
// Date values JSON cannot carry. Pure.
import { hash } from "node:crypto";

export function fingerprint(command: string, request: object): Buffer {
  return hash("sha256", `${command}\0${canonicalJson(request)}`, "buffer");
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

/** bigint and Date tagged, so the stored JSON decodes to the same values. */
export function encodeAnswer(value: unknown): unknown {
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (value instanceof Date) return { $date: value.toISOString() };
  if (Array.isArray(value)) return value.map(encodeAnswer);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeAnswer(v)]));
  }
  return value;
}

export function decodeAnswer(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeAnswer);
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (typeof record.$bigint === "string") return BigInt(record.$bigint);
    if (typeof record.$date === "string") return new Date(record.$date);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, decodeAnswer(v)]));
  }
  return value;
}
