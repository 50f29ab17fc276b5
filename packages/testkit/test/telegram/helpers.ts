// Shared pieces of the Telegram fake's tests: a fake per test and a telegraf bot pointed at it.
import { Telegraf } from "telegraf";
import type { Context } from "telegraf";
import { startFakeTelegram } from "../../src/index.js";
import type { FakeTelegram, FakeTelegramOptions, TgEnvelope } from "../../src/index.js";

export const TOKEN = "123456789:AAH-test_token";
export const ALICE = { id: 1001, first_name: "Alice", username: "alice", language_code: "ru" };
export const BOB = { id: 1002, first_name: "Bob", username: "bob", language_code: "en" };

export async function startFake(options: Partial<FakeTelegramOptions> = {}): Promise<FakeTelegram> {
  return await startFakeTelegram({ token: TOKEN, botUsername: "pix_test_bot", ...options });
}

export function newBot(fake: FakeTelegram, token = TOKEN): Telegraf {
  return new Telegraf(token, { telegram: { apiRoot: fake.apiRoot } });
}

export interface RunningBot {
  /** Errors thrown by handlers (bot.catch). */
  readonly errors: unknown[];
  /** Settles when polling ends (stop, or a fatal error such as 409). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** Launches long polling and resolves once the bot's first getUpdates is waiting at the fake. */
export async function launchPolling(fake: FakeTelegram, bot: Telegraf<Context>): Promise<RunningBot> {
  const errors: unknown[] = [];
  bot.catch((error) => {
    errors.push(error);
  });
  const done = bot.launch();
  done.catch(() => undefined);
  await fake.waitFor(() => fake.isPolling(), 5_000, "the bot's first long poll");
  return {
    errors,
    done,
    async stop() {
      try {
        bot.stop("test over");
      } catch {
        // already stopped (e.g. after a 409)
      }
      await done.catch(() => undefined);
    },
  };
}

/** A raw Bot API call, for what telegraf cannot express (GET, urlencoded, bad tokens). */
export async function rawCall(
  fake: FakeTelegram,
  method: string,
  params: Record<string, unknown> = {},
  token = TOKEN,
): Promise<{ status: number; body: TgEnvelope }> {
  const res = await fetch(`${fake.apiRoot}/bot${token}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(params),
  });
  return { status: res.status, body: (await res.json()) as TgEnvelope };
}

export function resultOf<T>(envelope: TgEnvelope): T {
  if (!envelope.ok) throw new Error(`expected ok, got ${envelope.error_code} ${envelope.description}`);
  return envelope.result as T;
}
