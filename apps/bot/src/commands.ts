// The command menu Telegram shows next to the input field: /start, /balance, /help, registered at
// start-up for English and Russian readers and, for everyone else, in the default language.
import type { Logger } from "@billing/observability";
import { catalogue, type Locale } from "./i18n/index.js";
import { describeError, type Redactor } from "./telegram/redact.js";
import type { BotCommand, TelegramApi } from "./telegram/types.js";

export const COMMANDS = ["start", "balance", "help"] as const;

export function commandsFor(locale: Locale): BotCommand[] {
  const t = catalogue(locale);
  return COMMANDS.map((command) => ({ command, description: t.commands[command] }));
}

/** Registers the menus; a failure is logged and leaves the previous menus in place (never fatal). */
export async function registerCommands(
  api: Pick<TelegramApi, "setCommands">,
  defaultLocale: Locale,
  log: Logger,
  redact: Redactor,
): Promise<boolean> {
  const menus: [Locale, string | undefined][] = [
    ["ru", "ru"],
    ["en", "en"],
    [defaultLocale, undefined],
  ];
  try {
    for (const [locale, languageCode] of menus) await api.setCommands(commandsFor(locale), languageCode);
    return true;
  } catch (error) {
    log.warn({ error: describeError(error, redact) }, "could not register the command menus");
    return false;
  }
}
