// Settings in the bench's own environment that reach the servers it starts, for experiments
// (e.g. `BILLING_LEDGER_RESOLUTIONS_IN_FLIGHT=3 npm run bench:jobs`). The bench's own settings win.
import { NODE_FLAGS } from "@billing/config";

/** Every variable of the bench's environment whose name starts with `prefix` (e.g. "BILLING_"). */
export function settingsFromEnvironment(prefix: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[0].startsWith(prefix) && entry[1] !== undefined,
    ),
  );
}

/**
 * Node flags of an app's process: as npm start, compose and k8s run it, unless
 * BENCH_<APP>_NODE_FLAGS says otherwise (e.g. BENCH_WORKER_NODE_FLAGS="" for V8's defaults).
 */
export function nodeFlagsOf(app: keyof typeof NODE_FLAGS): string[] {
  const override = process.env[`BENCH_${app.toUpperCase()}_NODE_FLAGS`];
  return override === undefined ? [...NODE_FLAGS[app]] : override.split(" ").filter((flag) => flag !== "");
}
