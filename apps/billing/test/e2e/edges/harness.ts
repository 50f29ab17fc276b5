// A billing server for the edge tests: port 0 on loopback, a fresh database (optionally reached
// through a URL the test controls, e.g. a cuttable proxy), one token per scope, raw HTTP/2 helpers.
import http2 from "node:http2";
import { billingEnvSchema, parseEnv, SCOPES, type Scope } from "@billing/config";
import { type BillingClient, createBillingClient } from "@billing/client";
import { createLogger } from "@billing/observability";
import { testDatabase, testToken, type TestDatabase, withPg } from "@billing/testkit";
import { type BillingServer, startBillingServer } from "../../../src/server.js";

export interface EdgeBilling {
  server: BillingServer;
  database: TestDatabase;
  tokens: Record<Scope, string>;
  client(scope: Scope, options?: { maxAttempts?: number; timeoutMs?: number }): BillingClient;
  /** A digest of every row of every table: equal before and after = nothing was written. */
  snapshot(): Promise<string>;
  close(): Promise<void>;
}

export async function startEdgeBilling(options: {
  label: string;
  env?: Record<string, string>;
  /** Rewrites the database URL billing connects to (the database itself is created directly). */
  databaseUrl?: (url: string) => string;
  logDestination?: { write(line: string): void };
}): Promise<EdgeBilling> {
  const database = testDatabase(options.label);
  const tokenPairs = SCOPES.map((scope) => [scope, testToken(scope)] as const);
  const config = parseEnv(billingEnvSchema, {
    DATABASE_URL: options.databaseUrl?.(database.url) ?? database.url,
    BILLING_HOST: "127.0.0.1",
    BILLING_PORT: "0",
    BILLING_METRICS_PORT: "0",
    BILLING_TOKENS: tokenPairs.map(([, t]) => t.entry).join(","),
    BILLING_OUTBOX_ENABLED: "false",
    // The fuzz and matrix tests make thousands of calls without a token; the tarpit has its own test.
    BILLING_UNAUTHENTICATED_DELAY_MS: "0",
    LOG_LEVEL: options.logDestination === undefined ? (process.env.TEST_LOG_LEVEL ?? "silent") : "debug",
    ...options.env,
  });
  const log = createLogger({
    app: "billing-edges",
    level: config.logLevel,
    ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
  });
  const server = await startBillingServer({ config, log });
  await server.ready;
  const tokens = Object.fromEntries(tokenPairs.map(([scope, t]) => [scope, t.token])) as Record<
    Scope,
    string
  >;
  const clients: BillingClient[] = [];
  return {
    server,
    database,
    tokens,
    client(scope, clientOptions = {}) {
      const client = createBillingClient({
        baseUrl: server.url,
        token: tokens[scope],
        timeoutMs: clientOptions.timeoutMs ?? 20_000,
        ...(clientOptions.maxAttempts === undefined ? {} : { maxAttempts: clientOptions.maxAttempts }),
      });
      clients.push(client);
      return client;
    },
    snapshot: () => snapshotTables(database.url),
    async close() {
      for (const client of clients) client.close();
      await server.close();
      await database.drop();
    },
  };
}

async function snapshotTables(url: string): Promise<string> {
  return await withPg(url, async (pg) => {
    const tables = await pg.query<{ name: string }>(
      `select table_name as name from information_schema.tables
        where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not like 'mikro_orm%'
        order by table_name`,
    );
    const digests: string[] = [];
    for (const { name } of tables.rows) {
      const result = await pg.query<{ digest: string }>(
        `select '${name}:' || count(*) || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '') as digest
           from "${name}" t`,
      );
      digests.push(result.rows[0]?.digest ?? name);
    }
    return digests.join("\n");
  });
}

export interface RawAnswer {
  /** HTTP status of the response headers (undefined when the stream was reset first). */
  httpStatus: number | undefined;
  /** grpc-status from trailers (or trailers-only headers). */
  grpcStatus: number | undefined;
  grpcMessage: string;
  /** RST_STREAM code when the server reset the stream. */
  rstCode: number | undefined;
  body: Buffer;
}

/** One raw gRPC call on an HTTP/2 session: the body is framed (or not) exactly as given. */
export function rawGrpc(
  session: http2.ClientHttp2Session,
  path: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc+proto",
      te: "trailers",
      ...headers,
    });
    const answer: RawAnswer = {
      httpStatus: undefined,
      grpcStatus: undefined,
      grpcMessage: "",
      rstCode: undefined,
      body: Buffer.alloc(0),
    };
    const chunks: Buffer[] = [];
    const readStatus = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] !== undefined) answer.grpcStatus = Number(h["grpc-status"]);
      if (typeof h["grpc-message"] === "string") answer.grpcMessage = decodeURIComponent(h["grpc-message"]);
    };
    stream.on("response", (h) => {
      answer.httpStatus = Number(h[":status"]);
      readStatus(h);
    });
    stream.on("trailers", readStatus);
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", () => undefined);
    stream.on("close", () => {
      if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) answer.rstCode = stream.rstCode;
      answer.body = Buffer.concat(chunks);
      resolve(answer);
    });
    stream.end(body);
  });
}

/** A gRPC length-prefixed message (uncompressed). */
export function envelope(message: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.byteLength, 1);
  return Buffer.concat([header, message]);
}

export function connect(url: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    // A roomy client-side budget: a flooding client's own queued bodies must not trip its session.
    const session = http2.connect(url, { maxSessionMemory: 1_000 });
    // The server's SETTINGS (max concurrent streams) have arrived once this fires.
    session.once("remoteSettings", () => resolve(session));
    session.once("error", reject);
  });
}
