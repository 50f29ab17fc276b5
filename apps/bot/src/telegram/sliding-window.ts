// A send budget counted the way Telegram counts it: at most `capacity` sends in any window of
// `windowMs`. A send counts from when it started until `windowMs` after it was answered (Telegram
// records it somewhere in between), so the budget can never be overdrawn by network jitter. No I/O.
export class SlidingWindow {
  /** Answer times of the last sends (at most `capacity` of them), oldest first. */
  readonly #answeredAtMs: number[] = [];
  #inFlight = 0;

  constructor(
    readonly capacity: number,
    readonly windowMs: number,
  ) {
    if (!(capacity >= 1)) throw new Error("capacity must be >= 1");
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  begin(): void {
    this.#inFlight++;
  }

  end(nowMs: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    if (!Number.isFinite(this.capacity)) return;
    this.#answeredAtMs.push(nowMs);
    if (this.#answeredAtMs.length > this.capacity) this.#answeredAtMs.shift();
  }

  /** When the next send may start: nowMs, a later time, or Infinity until a send in flight ends. */
  freeAtMs(nowMs: number): number {
    if (!Number.isFinite(this.capacity)) return nowMs;
    while (this.#answeredAtMs.length > 0 && (this.#answeredAtMs[0] ?? 0) + this.windowMs <= nowMs) {
      this.#answeredAtMs.shift();
    }
    // Sends to let go of before one more fits.
    const excess = this.#inFlight + this.#answeredAtMs.length - this.capacity + 1;
    if (excess <= 0) return nowMs;
    const releasing = this.#answeredAtMs[excess - 1];
    return releasing === undefined ? Infinity : releasing + this.windowMs;
  }
}
