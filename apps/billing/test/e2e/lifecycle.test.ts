// Start-up and shutdown as an operator sees them: NOT_SERVING until PostgreSQL is reachable and
// migrated, SERVING after, NOT_SERVING again from the moment shutdown starts; bad configuration
// fails fast with a message that names the variable.
import { spawn } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { billingEnvSchema, parseEnv } from "@billing/config";
import { createBillingClient } from "@billing/client";
import { createLogger } from "@billing/observability";
import { HealthCheckResponse_ServingStatus as Status } from "@billing/proto/grpc/health/v1/health_pb";
import { PG_ADMIN_URL, testDatabase, testToken, waitFor } from "@billing/testkit";
import { describe, expect, it } from "vitest";
import { startBillingServer } from "../../src/server.js";

const BILLING_DIR = fileURLToPath(new URL("../..", import.meta.url));

/** A TCP proxy to PostgreSQL that refuses connections until opened: PostgreSQL "coming up". */
async function gatedPostgresProxy() {
  const target = new URL(PG_ADMIN_URL);
  let open = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    if (!open) return client.destroy();
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => (client.destroy(), upstream.destroy());
    client.on("error", end);
    upstream.on("error", end);
    upstream.on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    open: () => (open = true),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("lifecycle", () => {
  it("reports NOT_SERVING until the database is ready, then SERVING, then NOT_SERVING on shutdown", async () => {
    const proxy = await gatedPostgresProxy();
    const database = testDatabase("lifecycle");
    const bot = testToken("bot");
    const config = parseEnv(billingEnvSchema, {
      DATABASE_URL: database.url.replace(/@[^/]+\//, `@127.0.0.1:${proxy.port}/`),
      BILLING_PORT: "0",
      BILLING_METRICS_PORT: "0",
      BILLING_HOST: "127.0.0.1",
      BILLING_TOKENS: bot.entry,
      // Not about events: without this the relay would create production-named streams.
      BILLING_OUTBOX_ENABLED: "false",
    });
    const server = await startBillingServer({ config, log: createLogger({ app: "test", level: "silent" }) });
    const client = createBillingClient({ baseUrl: server.url, token: bot.token, maxAttempts: 1 });
    try {
      expect((await client.health.check({})).status).toBe(Status.NOT_SERVING);
      // Calls are refused with UNAVAILABLE (and the client's retry gives up quickly here).
      await expect(client.wallet.getPriceList({})).rejects.toMatchObject({ code: 14 });

      const seen: Status[] = [];
      const controller = new AbortController();
      const watching = (async () => {
        for await (const update of client.health.watch(
          { service: "billing.v1.WalletService" },
          { signal: controller.signal, timeoutMs: 60_000 },
        )) {
          seen.push(update.status);
        }
      })().catch(() => undefined);
      await waitFor("the first health update", () => (seen.length >= 1 ? true : undefined));
      proxy.open();
      await server.ready;
      await waitFor("SERVING", () => (seen.includes(Status.SERVING) ? true : undefined));
      expect((await client.health.check({})).status).toBe(Status.SERVING);
      await expect(client.wallet.getPriceList({})).resolves.toMatchObject({ prices: expect.any(Array) });

      const closing = server.close();
      await waitFor("NOT_SERVING on shutdown", () => (seen.at(-1) === Status.NOT_SERVING ? true : undefined));
      await closing;
      controller.abort();
      await watching;
      expect(seen[0]).toBe(Status.NOT_SERVING);
      expect(seen).toContain(Status.SERVING);
      expect(seen.at(-1)).toBe(Status.NOT_SERVING);
    } finally {
      client.close();
      await server.close();
      await proxy.close();
      await database.drop();
    }
  });

  it("fails fast with a message naming each bad variable, without a stack trace or the secret", async () => {
    const missing = await runMain({});
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain("DATABASE_URL");
    expect(missing.stderr).toContain("BILLING_TOKENS");
    expect(missing.stderr).not.toMatch(/\n\s+at /);

    const secret = "tooshort";
    const malformed = await runMain({
      DATABASE_URL: "postgres://postgres@127.0.0.1/x",
      BILLING_TOKENS: `root:${secret}`,
      BILLING_PORT: "99999",
    });
    expect(malformed.code).toBe(78);
    expect(malformed.stderr).toContain("BILLING_TOKENS");
    expect(malformed.stderr).toContain("BILLING_PORT");
    expect(malformed.stderr).not.toContain(secret);
  });
});

async function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", "src/main.ts"], {
    cwd: BILLING_DIR,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return { code, stderr };
}
