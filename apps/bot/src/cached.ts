// A value read from billing that changes rarely (the price list, the top-up options): read at most
// once per ttl, and when billing cannot answer, the last good value rather than an error.

export class Cached<T> {
  #value: T | undefined;
  #loadedAtMs = -Infinity;
  #loading: Promise<T> | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<T> {
    if (this.#value !== undefined && this.now() - this.#loadedAtMs < this.ttlMs) return this.#value;
    // One load at a time, shared by concurrent callers.
    this.#loading ??= this.load()
      .then((value) => {
        this.#value = value;
        this.#loadedAtMs = this.now();
        return value;
      })
      .finally(() => {
        this.#loading = undefined;
      });
    try {
      return await this.#loading;
    } catch (error) {
      if (this.#value !== undefined) return this.#value;
      throw error;
    }
  }
}
