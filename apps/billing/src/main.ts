// Entry point: parse configuration (clear message and exit 78 when it is wrong), start, and stop
// gracefully on SIGTERM/SIGINT.
import { billingEnvSchema, exitOnConfigError, parseEnv } from "@billing/config";
import { createLogger } from "@billing/observability";
import { offsetClock } from "./offset-clock.js";
import { startBillingServer } from "./server.js";

let config;
try {
  config = parseEnv(billingEnvSchema);
} catch (error) {
  exitOnConfigError(error, "billing");
}
const log = createLogger({ app: "billing", level: config.logLevel });
let clock;
if (config.unsafeTestClockFile !== undefined) {
  log.warn(
    { file: config.unsafeTestClockFile },
    "BILLING_UNSAFE_TEST_CLOCK_FILE is set: billing's clock follows that file's offset (tests only)",
  );
  clock = offsetClock(config.unsafeTestClockFile);
}
const server = await startBillingServer({ config, log, ...(clock === undefined ? {} : { clock }) });
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
