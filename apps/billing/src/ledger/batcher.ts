// Natural batching ("group commit"): commands that arrive while earlier batches are running wait
// and then run together, up to a bound. There is no timer: under light load every command runs at
// once in a batch of one, so batching adds no latency; under load, batches grow and each
// transaction carries many commands. Everything is bounded: the commands waiting (a full queue
// refuses at once with UNAVAILABLE), the batches running, and a failed batch's fallback, which runs
// its commands one by one within the same in-flight bound. A command whose caller has given up
// (its signal aborted) is dropped before it runs. Commands on accounts a running batch holds locked
// wait for it instead of starting a batch that could only queue behind its locks: on one hot account
// they then go together, one large batch at a time, instead of many small ones in a row.
import type { Outcome } from "../commands/index.js";
import { DomainError } from "../domain/errors.js";

interface Pending<C, T> {
  command: C;
  signal: AbortSignal | undefined;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
  /** Set when a batch broke and this command must run alone. */
  alone: boolean;
  /** The rows it locks (e.g. its user), from `lockKeyOf`. */
  lockKey: string;
}

export class Batcher<C, T> {
  readonly #queue: Pending<C, T>[] = [];
  #inFlight = 0;
  /** Lock keys of the commands in running batches. */
  readonly #locked = new Map<string, number>();

  constructor(
    private readonly options: {
      /** What the batcher runs, for the refusal message (e.g. "spending"). */
      name: string;
      maxBatch: number;
      maxInFlight: number;
      maxQueued: number;
      /** What a command locks; commands with a key in a running batch wait for it. */
      lockKeyOf: (command: C) => string;
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
      this.#queue.push({
        command,
        signal,
        resolve,
        reject,
        alone: false,
        lockKey: this.options.lockKeyOf(command),
      });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.options.maxInFlight && this.#queue.length > 0) {
      const batch = this.#take();
      if (batch.length === 0) return;
      this.#inFlight++;
      for (const pending of batch)
        this.#locked.set(pending.lockKey, (this.#locked.get(pending.lockKey) ?? 0) + 1);
      void this.#execute(batch).finally(() => {
        this.#inFlight--;
        for (const pending of batch) {
          const left = (this.#locked.get(pending.lockKey) ?? 1) - 1;
          if (left === 0) this.#locked.delete(pending.lockKey);
          else this.#locked.set(pending.lockKey, left);
        }
        this.#pump();
      });
    }
  }

  /**
   * The next batch, in arrival order: commands whose callers still wait and whose rows no running
   * batch holds; a command to run alone goes alone. Commands left behind keep their place.
   */
  #take(): Pending<C, T>[] {
    const batch: Pending<C, T>[] = [];
    for (let i = 0; i < this.#queue.length && batch.length < this.options.maxBatch;) {
      const next = this.#queue[i];
      if (next === undefined) break;
      if (next.signal?.aborted === true) {
        this.#queue.splice(i, 1);
        next.reject(cancelled());
        continue;
      }
      if (this.#locked.has(next.lockKey) || (next.alone && batch.length > 0)) {
        i++;
        continue;
      }
      this.#queue.splice(i, 1);
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
