// Entry point: parse configuration (clear message and exit 78 when it is wrong), start, and stop
// gracefully on SIGTERM/SIGINT.
import { billingEnvSchema, exitOnConfigError, parseEnv } from "@billing/config";
import { createLogger } from "@billing/observability";
import { startBillingServer } from "./server.js";

let config;
try {
  config = parseEnv(billingEnvSchema);
} catch (error) {
  exitOnConfigError(error, "billing");
}
const log = createLogger({ app: "billing", level: config.logLevel });
const server = await startBillingServer({ config, log });
server.ready.catch(() => process.exit(1));

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    log.info({ signal }, "shutting down");
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
