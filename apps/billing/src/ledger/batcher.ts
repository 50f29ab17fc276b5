// Natural batching ("group commit"): commands that arrive while earlier batches are running wait
// and then run together, up to a bound. There is no timer: under light load every command runs at
// once in a batch of one, so batching adds no latency; under load, batches grow and each
// transaction carries many commands.

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

interface Pending<C, T> {
  command: C;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export class Batcher<C, T> {
  readonly #queue: Pending<C, T>[] = [];
  #inFlight = 0;

  constructor(
    private readonly options: {
      maxBatch: number;
      maxInFlight: number;
      /** Runs a batch in one transaction; one outcome per command, in order. */
      run: (batch: C[]) => Promise<Outcome<T>[]>;
    },
  ) {}

  submit(command: C): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ command, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.options.maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.options.maxBatch);
      this.#inFlight++;
      void this.#execute(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
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
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      // One command broke the whole transaction (not a domain refusal: those are outcomes). Run
      // each alone, so only that command fails.
      await Promise.all(batch.map((pending) => this.#execute([pending])));
    }
  }
}
