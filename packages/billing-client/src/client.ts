// createBillingClient(): typed clients of billing for internal services — the bearer token on every
// call, a deadline on every call, and bounded retries of calls that are safe to repeat. They speak
// the Connect protocol (binary protobuf over HTTP/2) unless told to speak gRPC: billing serves both
// on one port with the same codes and error details, and connect-es runs a gRPC unary call through
// envelope and trailer pipelines on both ends, which cost more CPU than billing's own work (over
// Connect, billing's CPU per Charge under `npm run bench` fell by more than half: see the README).
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { PaymentService } from "@billing/proto/billing/v1/payments_pb";
import { QuotaService } from "@billing/proto/billing/v1/quotas_pb";
import { ReportService } from "@billing/proto/billing/v1/reports_pb";
import { WalletService } from "@billing/proto/billing/v1/wallet_pb";
import { Health } from "@billing/proto/grpc/health/v1/health_pb";
import { RetryInfoSchema } from "@billing/proto/google/rpc/error_details_pb";

export interface BillingClientOptions {
  /** e.g. http://127.0.0.1:50051 (h2c) or https://billing.internal:443 */
  baseUrl: string;
  /** This service's own token (BILLING_TOKEN). */
  token: string;
  /** Deadline of each call unless the call sets its own; default 5 s. */
  timeoutMs?: number;
  /** Attempts of a retryable call (the first included); default 4. */
  maxAttempts?: number;
  /** Extra interceptors, e.g. for tracing. */
  interceptors?: Interceptor[];
  /**
   * "connect" (default), or "grpc" for a path that routes only gRPC (some proxies and meshes) and
   * for comparing the two (`BENCH_PROTOCOL=grpc npm run bench`).
   */
  protocol?: BillingProtocol;
}

export type BillingProtocol = "connect" | "grpc";

export interface BillingClient {
  readonly wallet: Client<typeof WalletService>;
  readonly payments: Client<typeof PaymentService>;
  readonly quotas: Client<typeof QuotaService>;
  /** Product figures (admin token). */
  readonly reports: Client<typeof ReportService>;
  readonly health: Client<typeof Health>;
  /** Closes the HTTP/2 connection. */
  close(): void;
}

/** Codes after which repeating an idempotent call is safe and may succeed. */
const RETRYABLE = new Set([Code.Unavailable, Code.Aborted]);
const BACKOFF_BASE_MS = 50;
const BACKOFF_MAX_MS = 1_000;
/** The most a server's RetryInfo may make one pause last (the call's deadline still applies). */
const RETRY_INFO_MAX_MS = 5_000;

export function createBillingClient(options: BillingClientOptions): BillingClient {
  const maxAttempts = Math.max(1, Math.min(options.maxAttempts ?? 4, 10));
  const authorization = `Bearer ${options.token}`;
  const auth: Interceptor = (next) => (request) => {
    request.header.set("authorization", authorization);
    return next(request);
  };
  // Only calls the contract marks as idempotent (reads, and mutations keyed by an idempotency key or
  // a hold id) are retried; all attempts share the call's one deadline.
  const retry: Interceptor = (next) => async (request) => {
    const safe =
      request.method.idempotency !== MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN && !request.stream;
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(request);
      } catch (error) {
        const connectError = ConnectError.from(error);
        if (!safe || attempt >= maxAttempts || !RETRYABLE.has(connectError.code) || request.signal.aborted)
          throw error;
        const backoffMs = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
        // The server's google.rpc.RetryInfo, when it sends one, sets the least pause.
        const delayMs = Math.max(backoffMs, retryDelayMs(connectError)) * (0.5 + Math.random() / 2);
        await pause(delayMs, request.signal);
      }
    }
  };
  const sessionManager = new Http2SessionManager(options.baseUrl, { idleConnectionTimeoutMs: 30_000 });
  const transportOptions = {
    baseUrl: options.baseUrl,
    sessionManager,
    defaultTimeoutMs: options.timeoutMs ?? 5_000,
    interceptors: [auth, retry, ...(options.interceptors ?? [])],
  };
  const transport =
    (options.protocol ?? "connect") === "grpc"
      ? createGrpcTransport(transportOptions)
      : createConnectTransport({ ...transportOptions, httpVersion: "2", useBinaryFormat: true });
  return {
    wallet: createClient(WalletService, transport),
    payments: createClient(PaymentService, transport),
    quotas: createClient(QuotaService, transport),
    reports: createClient(ReportService, transport),
    health: createClient(Health, transport),
    close: () => sessionManager.abort(),
  };
}

/** The pause a server asked for in google.rpc.RetryInfo (0 if none), bounded. */
function retryDelayMs(error: ConnectError): number {
  const delay = error.findDetails(RetryInfoSchema)[0]?.retryDelay;
  if (delay === undefined) return 0;
  const ms = Number(delay.seconds) * 1_000 + Math.floor(delay.nanos / 1_000_000);
  return Math.max(0, Math.min(ms, RETRY_INFO_MAX_MS));
}

/** Waits `ms`, or less if the call is cancelled or its deadline passes. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
