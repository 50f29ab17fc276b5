// Idempotency keys and job ids, derived from the Telegram update that asked for the effect, so a
// redelivered update or a second tap on the same button reaches billing with the same key and is
// one charge (or one payment), even across a restart of the bot. The bot's id is part of every key:
// two bots sharing one billing never collide.
import { createHash } from "node:crypto";

/** The key of an effect asked for by a message (the last input of a mode, a typed amount, an email). */
export function updateKey(botId: number, updateId: number): string {
  return `tg:${botId}:u:${updateId}`;
}

/**
 * The key of an effect asked for by a button. Not the callback's update id: two taps are two updates,
 * but the same button of the same message — one effect.
 */
export function buttonKey(botId: number, chatId: number, messageId: number, data: string): string {
  const digest = createHash("sha256").update(`${chatId}:${messageId}:${data}`).digest("hex").slice(0, 40);
  return `tg:${botId}:b:${digest}`;
}

/** The job a reservation pays for: fresh per key, the same for the same key (Nats-Msg-Id dedupe). */
export function jobIdOf(idempotencyKey: string): string {
  return `j_${createHash("sha256").update(idempotencyKey).digest("hex").slice(0, 24)}`;
}

/** A reproducible seed for the provider, from the job id. */
export function seedOf(jobId: string): bigint {
  return createHash("sha256").update(jobId).digest().readBigUInt64BE(0);
}
