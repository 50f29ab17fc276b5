// Bounded in-memory structures. The bot keeps only conveniences in memory (conversation steps, the
// language of a user, ids it has already handled): every map has a size limit and a time limit, and
// losing any of it on a restart only means asking the user again — never losing money.

/** A map that forgets entries after `ttlMs` and evicts the least recently used beyond `maxEntries`. */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, { value: V; expiresAtMs: number }>();

  constructor(
    readonly maxEntries: number,
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error("maxEntries must be >= 1");
    if (!(ttlMs > 0)) throw new Error("ttlMs must be > 0");
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= this.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    // Map keeps insertion order: re-inserting makes it the most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAtMs: this.now() + this.ttlMs });
    this.#evict();
  }

  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  #evict(): void {
    const now = this.now();
    // Oldest first: drop expired ones at the front, then whatever exceeds the bound.
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= this.maxEntries && entry.expiresAtMs > now) break;
      this.#entries.delete(key);
    }
  }
}

/** A set of recently seen ids (updates, jobs, events) with the same bounds. */
export class BoundedSet<K> {
  readonly #map: BoundedMap<K, true>;

  constructor(maxEntries: number, ttlMs: number, now?: () => number) {
    this.#map = new BoundedMap(maxEntries, ttlMs, now);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  add(key: K): void {
    this.#map.set(key, true);
  }

  /** Adds the key; false if it was already there (the caller has seen it before). */
  addIfAbsent(key: K): boolean {
    if (this.#map.has(key)) return false;
    this.#map.set(key, true);
    return true;
  }

  delete(key: K): void {
    this.#map.delete(key);
  }
}

/**
 * Runs tasks one after another per key (a user), concurrently across keys. Updates of one polling
 * batch arrive together: two photos of one album, or a double tap, must not race on one user's
 * conversation. Keys are forgotten as soon as their last task ends, so the map holds only active users.
 */
export class KeyedSerializer<K> {
  readonly #tails = new Map<K, Promise<void>>();

  get active(): number {
    return this.#tails.size;
  }

  run<T>(key: K, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Resolves once every task started so far has ended. */
  async idle(): Promise<void> {
    await Promise.all([...this.#tails.values()]);
  }
}

/**
 * At most `limit` tasks at once, the others waiting in arrival order. Waiting here costs no deadline:
 * a billing call that starts late still gets its full timeout, where a flood of calls started at
 * once would queue inside billing and run out of time there.
 */
export class Semaphore {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error("limit must be >= 1");
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#running++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter (it stays counted), or is given back.
      const next = this.#waiting.shift();
      if (next === undefined) this.#running--;
      else next();
    }
  }
}
