// Natural batching ("group commit"): commands that arrive while earlier batches are running wait
// and then run together, up to a bound. There is no timer: under light load every command runs at
// once in a batch of one, so batching adds no latency; under load, batches grow and each
// transaction carries many commands. Everything is bounded: the commands waiting (a full queue
// refuses at once with UNAVAILABLE), the batches running, and a failed batch's fallback, which runs
// its commands one by one within the same in-flight bound. A command whose caller has given up
// (its signal aborted) is dropped before it runs.
import type { Outcome } from "../commands/index.js";
import { DomainError } from "../domain/errors.js";

interface Pending<C, T> {
  command: C;
  signal: AbortSignal | undefined;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
  /** Set when a batch broke and this command must run alone. */
  alone: boolean;
}

export class Batcher<C, T> {
  readonly #queue: Pending<C, T>[] = [];
  #inFlight = 0;

  constructor(
    private readonly options: {
      /** What the batcher runs, for the refusal message (e.g. "spending"). */
      name: string;
      maxBatch: number;
      maxInFlight: number;
      maxQueued: number;
      /** Runs a batch in one transaction; one outcome per command, in order. */
      run: (batch: C[]) => Promise<Outcome<T>[]>;
    },
  ) {}

  get queued(): number {
    return this.#queue.length;
  }

  submit(command: C, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted === true) return Promise.reject(cancelled());
    if (this.#queue.length >= this.options.maxQueued) {
      return Promise.reject(
        new DomainError(
          "UNAVAILABLE",
          `billing is saturated (${this.#queue.length} ${this.options.name} commands waiting); retry shortly`,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ command, signal, resolve, reject, alone: false });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.options.maxInFlight && this.#queue.length > 0) {
      const batch = this.#take();
      if (batch.length === 0) continue;
      this.#inFlight++;
      void this.#execute(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  /** The next batch: commands whose callers still wait; a command to run alone goes alone. */
  #take(): Pending<C, T>[] {
    const batch: Pending<C, T>[] = [];
    while (batch.length < this.options.maxBatch && this.#queue.length > 0) {
      const next = this.#queue[0];
      if (next === undefined) break;
      if (next.alone && batch.length > 0) break;
      this.#queue.shift();
      if (next.signal?.aborted === true) {
        next.reject(cancelled());
        continue;
      }
      batch.push(next);
      if (next.alone) break;
    }
    return batch;
  }

  async #execute(batch: Pending<C, T>[]): Promise<void> {
    try {
      const outcomes = await this.options.run(batch.map((p) => p.command));
      batch.forEach((pending, i) => {
        const outcome = outcomes[i];
        if (outcome === undefined) pending.reject(new Error("batch answered fewer outcomes than commands"));
        else if (outcome.ok) pending.resolve(outcome.value);
        else pending.reject(outcome.error);
      });
    } catch (error) {
      if (batch.length === 1 || error instanceof DomainError) {
        for (const pending of batch) pending.reject(error);
        return;
      }
      // One command broke the whole transaction (not a domain refusal: those are outcomes). Its
      // commands go back to the front of the queue to run alone, within the in-flight bound, so
      // only the broken one fails.
      for (const pending of batch) pending.alone = true;
      this.#queue.unshift(...batch);
    }
  }
}

function cancelled(): DomainError {
  return new DomainError("UNAVAILABLE", "the call's deadline passed before it ran; nothing was done");
}
