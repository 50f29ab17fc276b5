// infra/local.env (the local stack's defaults), overridden by the real environment — for the scripts
// that talk to a running `npm start` stack.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

export function localEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(`${ROOT}/infra/local.env`, "utf8").split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) env[match[1]] = match[2];
  }
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return env;
}

/** The first token of `scope` in BILLING_TOKENS (development convenience: the stack's own list). */
export function tokenOfScope(env: Record<string, string>, scope: string): string | undefined {
  for (const entry of (env.BILLING_TOKENS ?? "").split(",")) {
    const [entryScope, token] = entry.trim().split(":", 2);
    if (entryScope === scope && token !== undefined && token !== "") return token;
  }
  return undefined;
}
