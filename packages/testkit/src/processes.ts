// Runs the project's apps as real processes for end-to-end tests (a process can be killed for real),
// straight from their TypeScript sources, with their logs captured for failure messages.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { testDatabase, testToken, type TestDatabase } from "./harness.js";

const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const MAX_LOG_CHARS = 200_000;

export type AppName = "billing" | "bot" | "webhooks" | "worker";

export interface AppProcess {
  readonly name: AppName;
  readonly child: ChildProcess;
  /** stdout and stderr so far (bounded). */
  logs(): string;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | string>;
  /** SIGKILL now: a crash. */
  kill(): Promise<number | string>;
}

/** A free TCP port on 127.0.0.1 (for apps that must be told their port before they start). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Starts apps/<name>/src/main.ts on this Node with the "source" condition (no build needed). */
export function spawnApp(name: AppName, env: Record<string, string>): AppProcess {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", `apps/${name}/src/main.ts`],
    {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let logs = "";
  const append = (chunk: Buffer) => {
    logs += chunk.toString();
    if (logs.length > MAX_LOG_CHARS) logs = logs.slice(-MAX_LOG_CHARS);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const stop = async (graceMs = 10_000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    }
    return exited;
  };
  return {
    name,
    child,
    logs: () => logs,
    exited,
    stop,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      return exited;
    },
  };
}

/**
 * Polls an HTTP URL until it answers 200 (e.g. an app's /readyz), or fails with the app's logs. The
 * default bound is generous: on two shared cores, with the suite's other files running and
 * PostgreSQL in a checkpoint, an app's start has been seen to take over 30 s.
 */
export async function waitForHttpOk(url: string, app: AppProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (app.child.exitCode !== null)
      throw new Error(`${app.name} exited (${app.child.exitCode}):\n${app.logs()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`${app.name} not ready at ${url} within ${timeoutMs} ms:\n${app.logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface BillingProcess {
  readonly app: AppProcess;
  readonly url: string;
  readonly metricsUrl: string;
  readonly database: TestDatabase;
  /** Token per scope. */
  readonly tokens: Record<"admin" | "bot" | "worker" | "webhooks" | "service", string>;
  /** The environment it runs with (to restart it the same way). */
  readonly env: Record<string, string>;
  /** Stops it (if running) and drops its database. */
  close(): Promise<void>;
}

/** Starts the real billing app as a process on free ports with a fresh database; waits until ready. */
export async function startBillingProcess(options: {
  label: string;
  env?: Record<string, string>;
}): Promise<BillingProcess> {
  const database = testDatabase(options.label);
  const scopes = ["admin", "bot", "worker", "webhooks", "service"] as const;
  const pairs = scopes.map((scope) => [scope, testToken(scope)] as const);
  // A free port can be taken by another test's process between our probe and billing's listen:
  // start again on other ports (bounded) rather than fail the test.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const metricsPort = await freePort();
    const env: Record<string, string> = {
      DATABASE_URL: database.url,
      BILLING_HOST: "127.0.0.1",
      BILLING_PORT: String(port),
      BILLING_METRICS_PORT: String(metricsPort),
      BILLING_TOKENS: pairs.map(([, t]) => t.entry).join(","),
      BILLING_HOLD_SWEEP_INTERVAL_MS: "200",
      // Off unless a test asks for it (with its own NATS_NAMESPACE): otherwise every billing test would
      // relay into the machine's production-named streams.
      BILLING_OUTBOX_ENABLED: "false",
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
      ...options.env,
    };
    const app = spawnApp("billing", env);
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    try {
      await waitForHttpOk(`${metricsUrl}/readyz`, app);
    } catch (error) {
      await app.kill();
      if (attempt < 3 && String(error).includes("EADDRINUSE")) continue;
      await database.drop();
      throw error;
    }
    return billingProcess(app, port, metricsUrl, database, pairs, env);
  }
}

function billingProcess(
  app: AppProcess,
  port: number,
  metricsUrl: string,
  database: TestDatabase,
  pairs: readonly (readonly [string, { token: string }])[],
  env: Record<string, string>,
): BillingProcess {
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    metricsUrl,
    database,
    tokens: Object.fromEntries(pairs.map(([scope, t]) => [scope, t.token])) as BillingProcess["tokens"],
    env,
    async close() {
      await app.stop();
      await database.drop();
    },
  };
}
