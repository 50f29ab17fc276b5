// The commands' store: the only code that reads or writes idempotency_keys through MikroORM (the
// ledger's set-based spend path reads and writes the same table in its own two round trips).
import type { EntityManager } from "../db/database.js";
import { IdempotencyKey } from "../db/entities.js";
import type { AnswerBook, StoredAnswer } from "./pipeline.js";

/** Answers kept in a MikroORM transaction: looked up with one query, inserted at flush. */
export function entityAnswerBook(tx: EntityManager, now: () => Date): AnswerBook {
  return {
    async answersOf(keys) {
      const rows = await tx.find(IdempotencyKey, { key: { $in: [...new Set(keys)] } });
      return new Map<string, StoredAnswer>(
        rows.map((row) => [
          row.key,
          { command: row.command, fingerprint: row.fingerprint, answer: row.result },
        ]),
      );
    },
    keep(key, answer) {
      tx.create(IdempotencyKey, {
        key,
        command: answer.command,
        fingerprint: Buffer.from(answer.fingerprint),
        result: answer.answer,
        createdAt: now(),
      });
    },
  };
}
