// Entry point: parse configuration (clear message and exit 78 when it is wrong), start, and stop
// gracefully on SIGTERM/SIGINT (jobs in hand finish first).
import { exitOnConfigError, parseEnv, workerEnvSchema } from "@billing/config";
import { createLogger } from "@billing/observability";
import { startWorker } from "./worker.js";

let config;
try {
  config = parseEnv(workerEnvSchema);
} catch (error) {
  exitOnConfigError(error, "worker");
}
const log = createLogger({ app: "worker", level: config.logLevel });
const worker = await startWorker({ config, log });
worker.ready.catch(() => process.exit(1));

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    log.info({ signal }, "shutting down");
    worker.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
