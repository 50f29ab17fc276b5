// One catalogue per language, the same keys in each (en is typed as ru's shape). The user's language
// comes from Telegram's language_code: English gets en, Russian (and the languages whose speakers
// usually read it) ru, anything else or nothing the configured default (BOT_DEFAULT_LOCALE, ru).
import type { BotLocale } from "@billing/config";
import { en } from "./en.js";
import { ru } from "./ru.js";

export type Catalogue = typeof ru;
export type Locale = BotLocale;

const CATALOGUES: Readonly<Record<Locale, Catalogue>> = { ru, en };

/** Languages whose speakers get the Russian texts. */
const RUSSIAN_READERS = new Set(["ru", "be", "uk", "kk", "ky", "uz", "tg", "hy", "az"]);

export function localeOf(languageCode: string | undefined, fallback: Locale): Locale {
  if (languageCode === undefined || languageCode === "") return fallback;
  const primary = languageCode.toLowerCase().split(/[-_]/)[0] ?? "";
  if (primary === "en") return "en";
  return RUSSIAN_READERS.has(primary) ? "ru" : fallback;
}

export function catalogue(locale: Locale): Catalogue {
  return CATALOGUES[locale];
}

export function isLocale(value: string): value is Locale {
  return value === "ru" || value === "en";
}

export type { Cost, Returned, StatementKind, StatementLine } from "./types.js";
