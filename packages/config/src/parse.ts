import type { z } from "zod";

/** Configuration could not be parsed: the message names every bad variable and why. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses the environment once, at start-up. Empty strings count as unset so that `FOO=` in a
 * compose file falls back to the default instead of failing in a confusing way.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: Env = process.env): z.output<S> {
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== "") cleaned[key] = value.trim();
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.length > 0 ? issue.path.map(String).join(".") : "(environment)";
    // Never echo the received value: it may be a secret.
    return `${variable}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}

/**
 * Prints a ConfigError as one clear line per problem and exits with EX_CONFIG (78); rethrows
 * anything else. Apps call this around their start-up so bad configuration never shows a trace.
 */
export function exitOnConfigError(error: unknown, app: string): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`${app}: ${error.message}\n`);
    process.exit(78);
  }
  throw error;
}
