// Entry point: configuration (one clear line per bad variable, exit 78), a log that can never print the
// bot token, start, and a graceful stop on SIGTERM/SIGINT.
import { botEnvSchema, exitOnConfigError, parseEnv } from "@billing/config";
import { createLogger } from "@billing/observability";
import { type RunningBot, startBot } from "./app.js";
import { createRedactor } from "./telegram/redact.js";

let config;
try {
  config = parseEnv(botEnvSchema);
} catch (error) {
  exitOnConfigError(error, "bot");
}

const redact = createRedactor([
  config.telegram.token,
  config.billingToken,
  ...(config.webhook === undefined ? [] : [config.webhook.secret]),
]);
// Every log line passes through the redactor on its way out: a URL with the token in some library's
// error message is caught here even where the code forgot to describe the error first.
const log = createLogger({
  app: "bot",
  level: config.logLevel,
  destination: { write: (line: string) => process.stdout.write(redact(line)) },
});

let stopping = false;
/** Set once started; a fatal error during start-up has nothing to close yet. */
const started: { bot?: RunningBot } = {};
const bot = await startBot(config, {
  log,
  redact,
  onFatal: () => {
    if (stopping) return;
    stopping = true;
    log.fatal("Telegram intake stopped for good; exiting so the process is restarted");
    void (started.bot?.close() ?? Promise.resolve()).finally(() => process.exit(1));
  },
}).catch((error: unknown) => {
  log.fatal(
    { error: { message: redact(error instanceof Error ? error.message : String(error)) } },
    "start-up failed",
  );
  process.exit(1);
});

started.bot = bot;

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    bot.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ error: { message: redact(String(error)) } }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
