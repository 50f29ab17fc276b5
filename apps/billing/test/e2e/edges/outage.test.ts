// PostgreSQL becomes unreachable (a proxy this test cuts; the shared server never stops): calls
// get UNAVAILABLE with retry info, health and /readyz say NOT_SERVING, @billing/client's retries
// succeed once the cut heals, and every keyed charge took effect exactly once. A COMMIT whose
// answer is lost is logged as an unknown outcome, and its retry replays the original.
import { ConnectError } from "@connectrpc/connect";
import { Code, detail, errorReason } from "@billing/client";
import { ErrorInfoSchema, RetryInfoSchema } from "@billing/proto/google/rpc/error_details_pb";
import { HealthCheckResponse_ServingStatus as Status } from "@billing/proto/grpc/health/v1/health_pb";
import { waitFor } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeBilling, startEdgeBilling } from "./harness.js";
import { startTcpProxy, type TcpProxy, throughProxy } from "./tcp-proxy.js";

const USER = "outage:1";
const CHARGES = 12;

describe("PostgreSQL outage", () => {
  let proxy: TcpProxy;
  let billing: EdgeBilling;
  const lines: string[] = [];
  beforeAll(async () => {
    proxy = await startTcpProxy({ host: "127.0.0.1", port: 5432 });
    billing = await startEdgeBilling({
      label: "edge_outage",
      databaseUrl: (url) => throughProxy(url, proxy),
      env: {
        BILLING_DB_PROBE_INTERVAL_MS: "100",
        // No background transactions: the only COMMITs are this test's calls.
        BILLING_HOLD_SWEEP_INTERVAL_MS: "600000",
        PAYMENTS_SWEEP_INTERVAL_MS: "3600000",
      },
      logDestination: { write: (line) => void lines.push(line) },
    });
    const admin = billing.client("admin").wallet;
    await admin.openAccount({ userRef: USER });
    await admin.grant({
      userRef: USER,
      amountCredits: 1_000n,
      reason: "outage test",
      idempotencyKey: "grant-1",
    });
  });
  afterAll(async () => {
    await billing?.close();
    await proxy?.close();
  });

  const healthStatus = () =>
    billing
      .client("admin", { maxAttempts: 1 })
      .health.check({})
      .then((r) => r.status);
  const readyz = () => fetch(`http://127.0.0.1:${billing.server.metricsPort}/readyz`).then((r) => r.status);
  const charge = (key: string, attempts: number) =>
    billing.client("admin", { maxAttempts: attempts, timeoutMs: 30_000 }).wallet.charge({
      userRef: USER,
      operation: "generate",
      idempotencyKey: key,
    });

  it("answers UNAVAILABLE with retry info, reports NOT_SERVING, and recovers with nothing lost or doubled", async () => {
    proxy.cut();
    const refused = await charge("cut-probe", 1).catch((e: unknown) => ConnectError.from(e));
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.Unavailable);
    expect(errorReason(refused)).toBe("UNAVAILABLE");
    expect(detail(refused, ErrorInfoSchema)?.metadata.cause).toBe("database");
    expect(detail(refused, RetryInfoSchema)?.retryDelay).toBeDefined();
    const read = await billing
      .client("admin", { maxAttempts: 1 })
      .wallet.getBalance({ userRef: USER })
      .catch((e: unknown) => ConnectError.from(e));
    expect((read as ConnectError).code).toBe(Code.Unavailable);
    await waitFor("health NOT_SERVING", async () =>
      (await healthStatus()) === Status.NOT_SERVING ? true : undefined,
    );
    expect(await readyz()).toBe(503);

    // Callers keep retrying (as the bot and the worker do) while the cut lasts; then it heals.
    const charges = Array.from({ length: CHARGES }, (_, i) => charge(`outage-${i}`, 10));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    proxy.heal();
    const answers = await Promise.all(charges);
    await waitFor("health SERVING", async () =>
      (await healthStatus()) === Status.SERVING ? true : undefined,
    );
    expect(await readyz()).toBe(200);

    // 4 free operations, then 10 credits each; the refused probe never happened.
    const balance = await billing.client("admin").wallet.getBalance({ userRef: USER });
    expect(balance.freeOperationsAvailable).toBe(0n);
    expect(balance.creditsAvailable).toBe(1_000n - 10n * BigInt(CHARGES - 4));
    const replays = await Promise.all(answers.map((_, i) => charge(`outage-${i}`, 1)));
    expect(replays.map((r) => r.transferId)).toEqual(answers.map((a) => a.transferId));
    expect(new Set(answers.map((a) => a.transferId)).size).toBe(CHARGES);
    const verified = await billing.client("admin").wallet.verifyLedger({});
    expect(verified.ok).toBe(true);
  });

  it("logs a COMMIT whose answer was lost as an unknown outcome, and its retry replays it once", async () => {
    const before = await billing.client("admin").wallet.getBalance({ userRef: USER });
    const lost = proxy.loseNextCommitAnswer();
    const answer = await charge("lost-answer-1", 10);
    await lost;
    const after = await billing.client("admin").wallet.getBalance({ userRef: USER });
    expect(after.creditsAvailable).toBe(before.creditsAvailable - 10n);
    expect((await charge("lost-answer-1", 1)).transferId).toBe(answer.transferId);
    const unknown = lines
      .flatMap((line) => line.split("\n"))
      .filter((line) => line.includes('"outcome":"unknown"'));
    expect(unknown.length).toBeGreaterThanOrEqual(1);
    expect(unknown.join("")).toMatch(/may or may not have committed/);
  });
});
