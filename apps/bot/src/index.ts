// The bot as a library, for in-process tests and tooling; main.ts runs it as a process.
export { startBot, type BotOptions, type RunningBot } from "./app.js";
export { catalogue, localeOf, type Catalogue, type Locale } from "./i18n/index.js";
