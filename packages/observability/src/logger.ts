import { type DestinationStream, pino, type Logger } from "pino";

export type { Logger } from "pino";

/**
 * Structured JSON logs, one object per line. Anything that may hold a secret is redacted by key,
 * wherever it appears, so a careless `log.info({ headers })` cannot leak a token.
 */
export function createLogger(options: {
  app: string;
  level?: string;
  destination?: DestinationStream;
}): Logger {
  return pino(
    {
      name: options.app,
      level: options.level ?? "info",
      base: { app: options.app },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          "authorization",
          "*.authorization",
          "*.*.authorization",
          "token",
          "*.token",
          "secret",
          "*.secret",
          "secretKey",
          "*.secretKey",
          "password",
          "*.password",
          "headers.cookie",
        ],
        censor: "[redacted]",
      },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination ?? pino.destination(1),
  );
}
