// Scenario 1: two billing instances side by side on one fresh database, outbox on, relaying into the
// chaos cluster (R3). Callers split across them; one instance is killed with SIGKILL mid-run and
// restarted; holds are left to expire. Then the audit: acknowledged answers against the ledger.
import { randomBytes } from "node:crypto";
import { type BillingClient, createBillingClient } from "@billing/client";
import { natsNames } from "@billing/events";
import {
  type AppProcess,
  freePort,
  type NatsCluster,
  spawnApp,
  startBillingProcess,
  uniqueName,
  waitForHttpOk,
} from "@billing/testkit";
import { type CallRecord, type Endpoint, runLoad } from "./billing-load.js";
import { type Cleanup, expiredHoldIds, figures, outboxAgainstStream, poll, query, sleep } from "./common.js";

export interface BillingPairOptions {
  cluster: NatsCluster;
  cleanup: Cleanup;
  callers: number;
  durationMs: number;
  users: number;
}

const GRANT_CREDITS = 400n;
const EXPIRING_HOLD_MS = 1_500;

export async function billingPair(options: BillingPairOptions) {
  const report = figures("1. two billing instances");
  const names = natsNames(uniqueName("chaos_pair"));
  const first = await startBillingProcess({
    label: "chaos_pair",
    env: {
      BILLING_OUTBOX_ENABLED: "true",
      NATS_URL: options.cluster.url,
      NATS_NAMESPACE: names.namespace,
      NATS_STREAM_REPLICAS: "3",
      // Every paid operation is funded by credits, so each user's balance says exactly what was debited.
      BILLING_STARTER_FREE_OPERATIONS: "0",
      BILLING_HOLD_SWEEP_INTERVAL_MS: "200",
      LOG_LEVEL: "error",
    },
  });
  options.cleanup.add("chaos_pair database", () => first.database.drop());
  // A is the process startBillingProcess started; B runs with the same environment on other ports.
  const instances: { env: Record<string, string>; app: AppProcess; url: string; readyUrl: string }[] = [
    { env: first.env, app: first.app, url: first.url, readyUrl: `${first.metricsUrl}/readyz` },
  ];
  const launch = async (index: number, instanceEnv: Record<string, string>) => {
    const app = spawnApp("billing", instanceEnv);
    const url = `http://127.0.0.1:${instanceEnv.BILLING_PORT}`;
    const readyUrl = `http://127.0.0.1:${instanceEnv.BILLING_METRICS_PORT}/readyz`;
    instances[index] = { env: instanceEnv, app, url, readyUrl };
    await waitForHttpOk(readyUrl, app, 60_000);
  };
  options.cleanup.add("billing A", () => instances[0]?.app.stop() ?? Promise.resolve());
  options.cleanup.add("billing B", () => instances[1]?.app.stop() ?? Promise.resolve());
  await launch(1, {
    ...first.env,
    BILLING_PORT: String(await freePort()),
    BILLING_METRICS_PORT: String(await freePort()),
  });

  // The callers are an internal service (scope "service": Charge, Reserve, Commit, Release).
  const client = (url: string) =>
    createBillingClient({ baseUrl: url, token: first.tokens.service, maxAttempts: 1 });
  const admin = createBillingClient({ baseUrl: instances[1]?.url ?? "", token: first.tokens.admin });
  const endpoints: Endpoint[] = instances.map((instance, index) => ({
    name: index === 0 ? "A" : "B",
    client: client(instance.url),
    lastAnswerMs: 0,
    longestGapMs: 0,
  }));
  const users = Array.from({ length: options.users }, (_, index) => `telegram:${7_000_000 + index}`);
  const opener = endpoints[1]?.client;
  for (const userRef of users) {
    await opener?.wallet.openAccount({ userRef });
    await admin.wallet.grant({
      userRef,
      amountCredits: GRANT_CREDITS,
      reason: "chaos",
      idempotencyKey: `grant-${userRef}`,
    });
  }

  let killedAtMs = 0;
  let restartMs = 0;
  const records = await runLoad(
    {
      endpoints,
      users,
      callers: options.callers,
      durationMs: options.durationMs,
      expiringHoldMs: EXPIRING_HOLD_MS,
      runId: randomBytes(3).toString("hex"),
    },
    async () => {
      await sleep(options.durationMs * 0.35);
      const victim = instances[0];
      if (victim === undefined) return;
      killedAtMs = performance.now();
      await victim.app.kill();
      await sleep(options.durationMs * 0.2);
      await launch(0, victim.env);
      restartMs = performance.now() - killedAtMs;
      endpoints[0]?.client.close();
      if (endpoints[0] !== undefined) endpoints[0].client = client(victim.url);
    },
  );
  report.note("operations (calls answered)", records.filter((r) => r.outcome !== "unanswered").length);
  report.note("SIGKILL of A → A ready again", `${(restartMs / 1000).toFixed(1)} s`);
  report.check(
    "calls never answered",
    records.filter((r) => r.outcome === "unanswered").length,
    !records.some((r) => r.outcome === "unanswered"),
  );
  report.check(
    "B's longest silence (< 3 s: it kept serving)",
    `${((endpoints[1]?.longestGapMs ?? 0) / 1000).toFixed(2)} s`,
    (endpoints[1]?.longestGapMs ?? Infinity) < 3_000,
  );

  await audit(records, { report, databaseUrl: first.database.url, admin, users, endpoints, names, options });
  for (const endpoint of endpoints) endpoint.client.close();
  admin.close();
  report.check(
    "no billing process exited on its own",
    instances.filter((i) => i.app.child.exitCode !== null).length,
    instances.every((i) => i.app.child.exitCode === null),
  );
}

interface AuditContext {
  report: ReturnType<typeof figures>;
  databaseUrl: string;
  admin: BillingClient;
  users: readonly string[];
  endpoints: readonly Endpoint[];
  names: ReturnType<typeof natsNames>;
  options: BillingPairOptions;
}

async function audit(records: readonly CallRecord[], context: AuditContext) {
  const { report, databaseUrl } = context;
  const sql = <Row extends object>(text: string) => query<Row>(databaseUrl, text);
  // Holds left to expire are all resolved by the sweeps before anything is counted.
  const pending = await poll(async () => {
    const rows = await sql<{ n: string }>(`select count(*) as n from ledger_holds where state = 'PENDING'`);
    return rows[0]?.n === "0" ? true : undefined;
  }, 60_000);
  report.check("holds still PENDING after the sweeps", pending === true ? 0 : "some", pending === true);

  const ok = (rpc: string) => records.filter((r) => r.rpc === rpc && r.outcome === "ok");
  const charges = new Set(
    (await sql<{ id: string }>(`select id::text as id from ledger_transfers where kind = 'CHARGE'`)).map(
      (r) => r.id,
    ),
  );
  const holds = new Map(
    (await sql<{ id: string; state: string }>(`select id::text as id, state from ledger_holds`)).map((r) => [
      r.id,
      r.state,
    ]),
  );
  const claimed = [...ok("charge").map((r) => r.id ?? ""), ...ok("reserve").map((r) => r.id ?? "")];
  const lost = claimed.filter((id) => !charges.has(id) && !holds.has(id)).length;
  const claimedIds = new Set(claimed);
  const phantom = [...charges, ...holds.keys()].filter((id) => !claimedIds.has(id)).length;
  report.check("acknowledged successes", claimed.length, true);
  report.check("lost (acknowledged, not in the ledger)", lost, lost === 0);
  report.check("phantom (in the ledger, never acknowledged)", phantom, phantom === 0);

  const expectState = (rpc: "commit" | "release", state: string) =>
    ok(rpc).filter((r) => holds.get(r.id ?? "") !== state).length;
  const wrongState = expectState("commit", "POSTED") + expectState("release", "VOIDED");
  const expiring = ok("reserve").filter((r) => r.leftToExpire === true);
  const notExpired = expiring.filter((r) => holds.get(r.id ?? "") !== "EXPIRED").length;
  report.check(
    "holds not in the state their answers said",
    wrongState + notExpired,
    wrongState + notExpired === 0,
  );

  const replays = await replayRetried(records, context.endpoints);
  report.check(
    "answers after a retry (replays), re-asked",
    `${replays.asked}, ${replays.untruthful} untruthful`,
    replays.untruthful === 0,
  );

  // Debits: each user's balance is the grant minus what its acknowledged charges and commits took.
  let wrongBalances = 0;
  for (const userRef of context.users) {
    const debited = records
      .filter(
        (r) => r.userRef === userRef && r.outcome === "ok" && (r.rpc === "charge" || r.rpc === "commit"),
      )
      .reduce((sum, r) => sum + (r.amountCredits ?? 0n), 0n);
    const balance = await context.admin.wallet.getBalance({ userRef });
    if (balance.creditsAvailable !== GRANT_CREDITS - debited || balance.creditsReserved !== 0n)
      wrongBalances++;
  }
  report.check("users whose balance ≠ grant − acknowledged debits", wrongBalances, wrongBalances === 0);
  const overdrawn = await sql<{ n: string }>(
    `select count(*) as n from ledger_accounts where kind = 'USER' and credits_posted - debits_posted - debits_pending < 0`,
  );
  report.check("overdrawn accounts", overdrawn[0]?.n ?? "?", overdrawn[0]?.n === "0");
  await auditEvents(
    context,
    expiring.map((r) => r.id ?? ""),
  );
  const verified = await context.admin.wallet.verifyLedger({});
  report.check("VerifyLedger violations", verified.violations.length, verified.violations.length === 0);
}

/** Asks every retried charge/reserve again (same key, the other instance): the answer must not change. */
async function replayRetried(records: readonly CallRecord[], endpoints: readonly Endpoint[]) {
  let asked = 0;
  let untruthful = 0;
  for (const [index, record] of records.entries()) {
    // Only answered successes are stored; a refusal stored nothing, and asking again is a new request.
    if (!record.retried || record.outcome !== "ok" || (record.rpc !== "charge" && record.rpc !== "reserve"))
      continue;
    const endpoint = endpoints[index % endpoints.length];
    if (endpoint === undefined) continue;
    asked++;
    const request = record.request;
    const again = await (
      request?.$typeName === "billing.v1.ChargeRequest"
        ? endpoint.client.wallet.charge(request).then((a) => a.transferId)
        : request?.$typeName === "billing.v1.ReserveRequest"
          ? endpoint.client.wallet.reserve(request).then((a) => a.hold?.holdId)
          : Promise.resolve(undefined)
    ).catch((error: unknown) => `refused: ${String(error)}`);
    if (again !== record.id)
      console.error(`replay of ${record.key}: ${again ?? "?"}, first answer ${record.id ?? "?"}`);
    if (again !== record.id) untruthful++;
  }
  return { asked, untruthful };
}

async function auditEvents(context: AuditContext, expiringHoldIds: readonly string[]) {
  const { report } = context;
  const events = await outboxAgainstStream(context.databaseUrl, context.options.cluster.url, context.names);
  report.check("outbox drained", events.drained ? "yes" : "no", events.drained);
  report.check("outbox rows / stream messages", `${events.outbox} / ${events.stream.length}`, events.equal);
  const announced = expiredHoldIds(events.stream);
  const once = new Set(announced);
  const expected = new Set(expiringHoldIds);
  const exact = announced.length === expected.size && [...expected].every((id) => once.has(id));
  report.check("expired holds / hold.expired events", `${expected.size} / ${announced.length}`, exact);
  const resolutions = await query<{ n: string }>(
    context.databaseUrl,
    `select count(*) as n from ledger_transfers where kind = 'HOLD_EXPIRED'`,
  );
  const count = resolutions[0]?.n ?? "?";
  report.check("expiry transfers (one per expired hold)", count, count === String(expected.size));
}
