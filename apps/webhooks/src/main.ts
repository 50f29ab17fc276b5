// Entry point: parse configuration (clear message and exit 78 when it is wrong), start, and stop
// gracefully on SIGTERM/SIGINT (notifications in flight finish; new ones get 503 and are redelivered).
import { exitOnConfigError, parseEnv, webhooksEnvSchema } from "@billing/config";
import { createLogger } from "@billing/observability";
import { startWebhooks } from "./server.js";

let config;
try {
  config = parseEnv(webhooksEnvSchema);
} catch (error) {
  exitOnConfigError(error, "webhooks");
}
const log = createLogger({ app: "webhooks", level: config.logLevel });
let webhooks;
try {
  webhooks = await startWebhooks({ config, log });
} catch (error) {
  exitOnConfigError(error, "webhooks");
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    log.info({ signal }, "shutting down");
    webhooks.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
