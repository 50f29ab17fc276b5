import { type DestinationStream, pino, type Logger } from "pino";
import { redactFields, redactSecrets } from "./redact.js";

export type { Logger } from "pino";

/**
 * Structured JSON logs, one object per line. Anything that may hold a secret is redacted by key,
 * wherever it appears (redact.ts), so a careless `log.info({ headers })` cannot leak a token.
 */
export function createLogger(options: {
  app: string;
  level?: string;
  destination?: DestinationStream;
}): Logger {
  const logger = pino(
    {
      name: options.app,
      level: options.level ?? "info",
      base: { app: options.app },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => redactFields(fields, "err"),
      },
      serializers: { err: (error: unknown) => redactSecrets(pino.stdSerializers.err(error as Error)) },
    },
    options.destination ?? pino.destination(1),
  );
  // A child's bindings are serialized once, when it is made, by no formatter: they are redacted
  // here. Children inherit from the root, so this covers every generation.
  const makeChild = Object.getPrototypeOf(logger) as Pick<Logger, "child">;
  logger.child = function (this: Logger, bindings, childOptions) {
    return makeChild.child.call(this, redactSecrets(bindings), childOptions);
  } as typeof logger.child;
  return logger;
}
