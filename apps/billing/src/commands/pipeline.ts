// The one idempotent-command wrapper of the service. Every mutating command declares its name, its
// key, the request that is fingerprinted, and its work; this module does the rest, the same way for
// every context:
//   1. look the key up (the store may have loaded it with the command's locks, in the same trip);
//   2. the same request under a used key answers the stored answer; another request is refused
//      with IDEMPOTENCY_KEY_REUSED;
//   3. otherwise run the work and store key + fingerprint + answer in the work's own transaction.
// Key races, where a twin under the same key commits between our look-up and our insert:
//   - if our work then succeeds, the unique index on the key refuses our insert: the store's
//     transaction rolls back and runs again (bounded), and the look-up finds the twin's answer;
//   - if our work is refused (the twin spent the last credit while we waited for its locks), the key
//     is read again before the refusal is answered, and the twin's answer wins.
// So a key is answered once, and only ever with the answer of the effect it names.
import { DomainError } from "../domain/errors.js";
import { decodeAnswer, encodeAnswer, fingerprint } from "./fingerprint.js";
import type { CommandKey } from "./key.js";

export interface CommandSpec {
  /** The RPC's name, e.g. "Charge": a key used by one command is refused for another. */
  readonly name: string;
  readonly key: CommandKey;
  /** What the caller asked for; its fingerprint tells a replay from a reuse. */
  readonly request: object;
}

/** An answer stored under a key. */
export interface StoredAnswer {
  readonly command: string;
  readonly fingerprint: Uint8Array;
  /** The answer as stored (encodeAnswer's form). */
  readonly answer: unknown;
}

/** The part of a context's unit of work that keeps answers (each store implements it). */
export interface AnswerBook {
  /** Stored answers of these keys (stored form), in one trip — or none if the store pre-loaded them. */
  answersOf(keys: readonly string[]): Promise<ReadonlyMap<string, StoredAnswer>>;
  /** Stores an answer with the effect, in the same transaction. */
  keep(key: string, answer: StoredAnswer): void;
}

/** `replayed`: answered from the stored answer, so no effect happened now (metrics count effects). */
export type Outcome<T> = { ok: true; value: T; replayed: boolean } | { ok: false; error: DomainError };

/**
 * Runs commands in one unit of work. Each gets its own outcome: its stored answer, a refusal, or
 * the answer of its work. A DomainError refuses only its own command, and its work must then have
 * changed nothing (works check before they write); any other error breaks the whole unit of work.
 */
export async function runCommands<C extends CommandSpec, T>(
  book: AnswerBook,
  commands: readonly C[],
  work: (command: C) => T | Promise<T>,
): Promise<Outcome<T>[]> {
  const stored = new Map(await book.answersOf(commands.map((c) => c.key.stored)));
  const outcomes: Outcome<T>[] = [];
  for (const command of commands) {
    const requestFingerprint = fingerprint(command.name, command.request);
    const earlier = stored.get(command.key.stored);
    if (earlier !== undefined) {
      outcomes.push(replayOf<T>(earlier, command, requestFingerprint));
      continue;
    }
    try {
      const value = await work(command);
      const answer: StoredAnswer = {
        command: command.name,
        fingerprint: requestFingerprint,
        answer: encodeAnswer(value),
      };
      book.keep(command.key.stored, answer);
      // A later command of the same unit of work under the same key is its replay.
      stored.set(command.key.stored, answer);
      outcomes.push({ ok: true, value, replayed: false });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const twin = (await book.answersOf([command.key.stored])).get(command.key.stored);
      outcomes.push(
        twin === undefined ? { ok: false, error } : replayOf<T>(twin, command, requestFingerprint),
      );
    }
  }
  return outcomes;
}

/** One command: its answer, or its refusal thrown. */
export async function runCommand<C extends CommandSpec, T>(
  book: AnswerBook,
  command: C,
  work: (command: C) => T | Promise<T>,
): Promise<T> {
  const [outcome] = await runCommands(book, [command], work);
  if (outcome === undefined) throw new Error("invariant: a command without an outcome");
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** The stored answer for the same request; IDEMPOTENCY_KEY_REUSED for another one. */
function replayOf<T>(stored: StoredAnswer, command: CommandSpec, requestFingerprint: Buffer): Outcome<T> {
  if (stored.command !== command.name || !Buffer.from(stored.fingerprint).equals(requestFingerprint)) {
    const error = new DomainError(
      "IDEMPOTENCY_KEY_REUSED",
      `idempotency key was already used for a different ${stored.command} request`,
      { metadata: { idempotency_key: command.key.shown, original_command: stored.command } },
    );
    return { ok: false, error };
  }
  return { ok: true, value: decodeAnswer(stored.answer) as T, replayed: true };
}
