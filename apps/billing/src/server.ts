// The billing server: ConnectRPC (gRPC, gRPC-Web, Connect) on one HTTP/2 port (and optionally an
// HTTP/1.1 one), health and reflection, PostgreSQL through MikroORM, background sweeps, and a
// graceful shutdown. `startBillingServer` is what main.ts runs and what tests start on port 0.
import { createContextValues } from "@connectrpc/connect";
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { BillingConfig } from "@billing/config";
import { natsNames } from "@billing/events";
import {
  createLogger,
  createMetricsRegistry,
  type Logger,
  type OpsServer,
  startOpsServer,
} from "@billing/observability";
import { type Database, migrate, openDatabase, redactConnectionError } from "./db/database.js";
import { type Clock, systemClock } from "./domain/clock.js";
import { DomainError } from "./domain/errors.js";
import { Ledger } from "./ledger/index.js";
import type { InvariantCheck } from "./ledger/index.js";
import { planPurchasesOf, Quotas } from "./quotas/index.js";
import { type OutboxRelay, startOutboxRelay } from "./outbox/relay.js";
import { Payments, type PlanPurchases, verifyPayments, yooKassaClientOf } from "./payments/index.js";
import { BILLING_SERVICES, type BillingContext, routes } from "./routes.js";
import { createAuthenticator } from "./rpc/auth.js";
import { createCallInterceptor } from "./rpc/call-interceptor.js";
import { type DatabaseWatch, watchDatabase } from "./rpc/database-watch.js";
import { HealthState, ServingStatus } from "./rpc/health.js";
import { createMoneyObserver } from "./observability/observer.js";
import { observeMoneyEffects } from "./observability/record.js";
import { yooKassaObserver } from "./observability/yookassa-metrics.js";
import { Reports } from "./reports/index.js";
import { registerReportGauges } from "./reports/gauges.js";
import { CONNECTION, createRequestGate } from "./rpc/request-gate.js";
import { Admission } from "./transport/admission.js";
import { startRpcListeners } from "./transport/rpc-listeners.js";

export interface BillingServerOptions {
  config: BillingConfig;
  log?: Logger;
  clock?: Clock;
  /** Shards per system account (tests use few to provoke contention). */
  systemShards?: number;
  /** Plans for sale through payments (QuotaService's catalogue); default: none. */
  planPurchases?: PlanPurchases;
}

/** What the handlers use, and the database behind it (tests inspect state through it). */
export type ServerContext = BillingContext & { readonly db: Database };

export interface BillingServer {
  /** e.g. http://127.0.0.1:50051 */
  readonly url: string;
  readonly port: number;
  /** The HTTP/1.1 port (Connect, gRPC-Web), when BILLING_HTTP1_PORT is set. */
  readonly http1Port: number | undefined;
  readonly metricsPort: number;
  readonly health: HealthState;
  /** Resolves once the database is reachable and migrated (health SERVING). */
  readonly ready: Promise<void>;
  /** The domain, once ready (tests inspect state through it). */
  context(): ServerContext;
  close(): Promise<void>;
}

/** Responses (a statement page, reflection's descriptors) may be larger than any request. */
const WRITE_MAX_BYTES = 4 * 1024 * 1024;
const MAX_TIMEOUT_MS = 5 * 60_000;
const DB_RETRY_MAX_MS = 5_000;
const HOLD_SWEEP_BATCH = 100;
const PAYMENT_SWEEP_BATCH = 50;
const SESSION_DRAIN_MS = 1_000;

export async function startBillingServer(options: BillingServerOptions): Promise<BillingServer> {
  const { config } = options;
  const { limits } = config;
  const log = options.log ?? createLogger({ app: "billing", level: config.logLevel });
  const clock = options.clock ?? systemClock;
  const registry = createMetricsRegistry("billing");
  const moneyObserver = createMoneyObserver(registry, log, config);
  const observeYooKassa = yooKassaObserver(registry);
  registerReportGauges(registry, () => reports);
  let reports: Reports | undefined;
  const health = new HealthState(BILLING_SERVICES.map((s) => s.typeName));
  let shuttingDown = false;
  let db: Database | undefined;
  let ledger: Ledger | undefined;
  let quotas: Quotas | undefined;
  let relay: OutboxRelay | undefined;
  let payments: Payments | undefined;
  let databaseWatch: DatabaseWatch | undefined;
  const invariantChecks: InvariantCheck[] = [verifyPayments];

  const unavailable = () => new DomainError("UNAVAILABLE", "billing is starting; retry shortly");
  const context: ServerContext = {
    get ledger() {
      if (ledger === undefined) throw unavailable();
      return ledger;
    },
    get db() {
      if (db === undefined) throw unavailable();
      return db;
    },
    get quotas() {
      if (quotas === undefined) throw unavailable();
      return quotas;
    },
    get reports() {
      if (reports === undefined) throw unavailable();
      return reports;
    },
    get payments() {
      if (payments === undefined) throw unavailable();
      return payments;
    },
    invariantChecks,
  };

  const acceptingCalls = () => payments !== undefined && !shuttingDown;
  const { interceptor, tracker } = createCallInterceptor({
    log,
    registry,
    defaultDeadlineMs: limits.defaultDeadlineMs,
    onDatabaseUnavailable: () => databaseWatch?.probeNow(),
  });
  const shutdown = new AbortController();
  const handler = connectNodeAdapter({
    routes: routes(context, health),
    // Authentication, readiness and admission run on the headers, before any body byte is read.
    requestGate: createRequestGate({
      auth: createAuthenticator(config.tokens),
      admission: new Admission({
        maxCallsInFlight: limits.maxCallsInFlight,
        maxCallsPerConnection: limits.maxStreamsPerConnection,
      }),
      isReady: acceptingCalls,
      unauthenticatedDelayMs: limits.unauthenticatedDelayMs,
      log,
      registry,
    }),
    contextValues: (req) => createContextValues().set(CONNECTION, connectionOf(req)),
    interceptors: [interceptor],
    grpc: true,
    grpcWeb: true,
    connect: true,
    readMaxBytes: limits.readMaxBytes,
    writeMaxBytes: WRITE_MAX_BYTES,
    maxTimeoutMs: MAX_TIMEOUT_MS,
    shutdownSignal: shutdown.signal,
  });

  const listeners = await startRpcListeners({
    handler,
    host: config.host,
    port: config.port,
    http1Port: config.http1Port,
    tls: config.tls,
    limits,
  });
  const port = listeners.port;
  const ops: OpsServer = await startOpsServer({
    host: config.metricsHost,
    port: config.metricsPort,
    registry,
    ready: () => health.serving && !shuttingDown,
  });
  log.info(
    {
      host: config.host,
      port,
      http1_port: listeners.http1Port,
      metrics_host: config.metricsHost,
      metrics_port: ops.port,
      tls: config.tls !== undefined,
    },
    "billing listening",
  );

  const timers: NodeJS.Timeout[] = [];
  const ready = (async () => {
    for (
      let attempt = 1, delay = 100;
      !shuttingDown;
      attempt++, delay = Math.min(delay * 2, DB_RETRY_MAX_MS)
    ) {
      try {
        db = await openDatabase({
          url: config.databaseUrl,
          poolMax: config.dbPoolMax,
          createDatabase: config.createDatabase,
          log,
        });
        break;
      } catch (error) {
        log.warn({ attempt, err: redactConnectionError(error) }, "database not reachable yet; retrying");
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    if (db === undefined) return;
    const applied = await migrate(db);
    observeMoneyEffects(db.orm, moneyObserver);
    reports = new Reports(db, { timeZone: config.quotaTimeZone }, clock);
    if (applied.length > 0) log.info({ migrations: applied }, "migrations applied");
    ledger = await Ledger.create(
      db,
      {
        prices: config.prices,
        starterFreeOperations: config.starterFreeOperations,
        lowBalanceThresholdCredits: config.lowBalanceThresholdCredits,
        systemShards: options.systemShards ?? 32,
        batchesInFlight: config.ledgerBatchesInFlight,
        resolutionsInFlight: config.ledgerResolutionsInFlight,
      },
      log.child({ component: "ledger" }),
      // Holds and expiry follow the database's clock unless a test brings its own.
      options.clock,
    );
    quotas = new Quotas(db, { plans: config.plans, timeZone: config.quotaTimeZone }, clock, registry);
    payments = new Payments({
      db,
      ledger,
      clock,
      log,
      config: config.payments,
      provider: observeYooKassa(yooKassaClientOf(config.payments.yookassa, log)),
      // Plans of QuotaService's catalogue are bought through payments (activated in the payment's transaction).
      plans: options.planPurchases ?? planPurchasesOf(quotas),
    });
    timers.push(
      repeat(
        config.payments.sweepIntervalMs,
        async () => {
          const swept = await context.payments.sweep(PAYMENT_SWEEP_BATCH);
          if (swept.payments + swept.refunds > 0) log.info(swept, "unsettled payments re-read");
        },
        log,
      ),
    );
    timers.push(
      repeat(
        config.holdSweepIntervalMs,
        async () => {
          const expired = await context.ledger.expireDueHolds(HOLD_SWEEP_BATCH);
          if (expired > 0) log.info({ expired }, "expired holds voided");
          // Promo lots: their remainder expires at expires_at, announced a day before (no cron).
          const lotUsers = await context.ledger.expireDueLots(HOLD_SWEEP_BATCH);
          if (lotUsers > 0) log.info({ users: lotUsers }, "due promo lots expired");
          await context.ledger.announceExpiringLots(HOLD_SWEEP_BATCH);
        },
        log,
      ),
    );
    if (config.outboxEnabled && !shuttingDown) {
      // Not part of readiness: while NATS is away the outbox lags and billing keeps serving.
      relay = startOutboxRelay({
        db,
        natsUrl: config.natsUrl,
        names: natsNames(config.natsNamespace),
        log: log.child({ component: "outbox" }),
        registry,
        pollIntervalMs: config.outboxPollIntervalMs,
        batchSize: config.outboxBatchSize,
        streamReplicas: config.natsStreamReplicas,
      });
    }
    databaseWatch = watchDatabase({
      db,
      health,
      intervalMs: limits.dbProbeIntervalMs,
      log,
      active: () => !shuttingDown,
    });
    if (!shuttingDown) health.setAll(ServingStatus.SERVING);
    log.info("billing ready");
  })();
  ready.catch((error: unknown) => log.fatal({ err: error }, "billing failed to start"));

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      shuttingDown = true;
      health.setAll(ServingStatus.NOT_SERVING);
      for (const timer of timers) clearInterval(timer);
      databaseWatch?.stop();
      // Stop accepting connections and new streams; let running calls finish within the grace.
      listeners.stopAccepting();
      const grace = new Promise<"timeout">((resolve) =>
        setTimeout(() => resolve("timeout"), config.shutdownGraceMs).unref(),
      );
      if ((await Promise.race([tracker.idle().then(() => "idle" as const), grace])) === "timeout") {
        log.warn({ in_flight: tracker.inFlight }, "shutdown grace elapsed; cancelling remaining calls");
      }
      // Streams (health Watch) end now, after their last message; sessions then close by themselves,
      // and whatever is still open after a short wait is cut.
      shutdown.abort(new DomainError("UNAVAILABLE", "billing is shutting down"));
      await listeners.drain(SESSION_DRAIN_MS);
      await ready.catch(() => undefined);
      // The relay's batch in hand needs the database: stop it first.
      await relay?.stop();
      await db?.close();
      await ops.close();
      log.info("billing stopped");
    })());

  return {
    url: `${config.tls === undefined ? "http" : "https"}://${reachableHost(config.host)}:${port}`,
    port,
    http1Port: listeners.http1Port,
    metricsPort: ops.port,
    health,
    ready,
    context: () => context,
    close,
  };
}

/** Runs `task` every `intervalMs`, never two at once; failures are logged, never thrown. */
function repeat(intervalMs: number, task: () => Promise<void>, log: Logger): NodeJS.Timeout {
  let running = false;
  return setInterval(() => {
    if (running) return;
    running = true;
    task()
      .catch((error: unknown) => log.error({ err: error }, "background task failed"))
      .finally(() => (running = false));
  }, intervalMs).unref();
}

/** Where a local client reaches a listener bound to `host` (a wildcard is reached on loopback). */
function reachableHost(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

/** The connection a call arrived on: its HTTP/2 session, or its socket for HTTP/1.1. */
function connectionOf(req: IncomingMessage | Http2ServerRequest): object {
  return "stream" in req ? (req.stream.session ?? req.stream) : req.socket;
}
