// Calls that show the user at once that the bot heard them, outside the send queue and its budget:
// answerCallbackQuery (stops the button's spinner; Telegram refuses it ~15 s after the press) and
// sendChatAction ("typing…", "sending a photo…"). Neither is a message, so neither waits behind
// messages or spends the 1/s-per-chat budget. They are cosmetic: never retried, never awaited by a
// handler; a failure is logged and counted. Bounded: a few in flight, a bounded backlog (chat actions
// beyond it are skipped; a callback answer is never skipped, it waits its turn).
import type { TelegramApi } from "./types.js";

export type ChatAction = "typing" | "upload_photo";

export interface OutOfBandOptions {
  api: Pick<TelegramApi, "answerCallback" | "chatAction">;
  /** Calls in flight at once. */
  concurrency: number;
  /** Chat actions waiting beyond this are skipped (they only matter now or never). */
  backlogMax: number;
  onResult(method: "answerCallbackQuery" | "sendChatAction", outcome: "ok" | "failed" | "skipped"): void;
  log: { debug(object: object, message: string): void };
}

interface Job {
  readonly method: "answerCallbackQuery" | "sendChatAction";
  readonly run: () => Promise<void>;
  readonly done: () => void;
}

export class OutOfBand {
  readonly #options: OutOfBandOptions;
  /** Callback answers first: a spinner has a deadline, a chat action does not. */
  readonly #answers: Job[] = [];
  readonly #actions: Job[] = [];
  #running = 0;

  constructor(options: OutOfBandOptions) {
    this.#options = options;
  }

  /** Resolves once answered or failed (never rejects); handlers need not wait for it. */
  answerCallback(queryId: string, text?: string): Promise<void> {
    return this.#add(this.#answers, "answerCallbackQuery", () =>
      this.#options.api.answerCallback(queryId, text),
    );
  }

  chatAction(chatId: number, action: ChatAction): Promise<void> {
    if (this.#actions.length >= this.#options.backlogMax) {
      this.#options.onResult("sendChatAction", "skipped");
      return Promise.resolve();
    }
    return this.#add(this.#actions, "sendChatAction", () => this.#options.api.chatAction(chatId, action));
  }

  #add(list: Job[], method: Job["method"], run: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      list.push({ method, run, done: resolve });
      this.#next();
    });
  }

  #next(): void {
    while (this.#running < this.#options.concurrency) {
      const job = this.#answers.shift() ?? this.#actions.shift();
      if (job === undefined) return;
      this.#running++;
      void job
        .run()
        .then(
          () => this.#options.onResult(job.method, "ok"),
          (error: unknown) => {
            this.#options.onResult(job.method, "failed");
            this.#options.log.debug(
              { method: job.method, error: error instanceof Error ? error.message : String(error) },
              "out-of-band call failed",
            );
          },
        )
        .finally(() => {
          this.#running--;
          job.done();
          this.#next();
        });
    }
  }
}
