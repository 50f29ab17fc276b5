// YooKassa's idempotence store: per (shop, Idempotence-Key), the request's fingerprint and the
// answer. Same key + same request → the same answer; same key + another request → 400. 5xx answers
// are never stored (the caller must be able to repeat). Bounded by size and by the 24 h window.

export interface StoredAnswer {
  readonly fingerprint: string;
  readonly status: number;
  readonly body: string;
  readonly storedAtMs: number;
}

export const IDEMPOTENCE_WINDOW_MS = 24 * 60 * 60 * 1000;

export class IdempotenceStore {
  private readonly entries = new Map<string, StoredAnswer>();

  constructor(
    private readonly maxEntries: number,
    private readonly nowMs: () => number,
  ) {}

  private static slot(shopId: string, key: string): string {
    return `${shopId}\n${key}`;
  }

  get(shopId: string, key: string): StoredAnswer | undefined {
    const slot = IdempotenceStore.slot(shopId, key);
    const entry = this.entries.get(slot);
    if (entry !== undefined && this.nowMs() - entry.storedAtMs > IDEMPOTENCE_WINDOW_MS) {
      this.entries.delete(slot);
      return undefined;
    }
    return entry;
  }

  put(shopId: string, key: string, answer: Omit<StoredAnswer, "storedAtMs">): void {
    if (answer.status >= 500) throw new Error("5xx answers are not stored");
    // Oldest first out: a Map iterates in insertion order.
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(IdempotenceStore.slot(shopId, key), { ...answer, storedAtMs: this.nowMs() });
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Method, path and the body's JSON with sorted keys: whitespace and key order do not matter. */
export function fingerprint(method: string, path: string, body: unknown): string {
  return `${method} ${path} ${canonicalJson(body)}`;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value).sort();
    const record = value as Record<string, unknown>;
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
