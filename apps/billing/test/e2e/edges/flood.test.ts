// The edge under abuse, with small numbers: unauthenticated large bodies on many streams are
// refused from their headers (their bodies are never read), calls in flight are capped, silent and
// idle connections are closed, slow bodies are cut, and legitimate calls keep being answered.
import http2 from "node:http2";
import net from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, envelope, type EdgeBilling, rawGrpc, startEdgeBilling } from "./harness.js";

const MiB = 1024 * 1024;
const STREAMS_PER_CONNECTION = 20;
const CALLS_IN_FLIGHT = 8;
const GET_BALANCE = "/billing.v1.WalletService/GetBalance";

describe("flood and slow peers", () => {
  let billing: EdgeBilling;
  beforeAll(async () => {
    billing = await startEdgeBilling({
      label: "edge_flood",
      env: {
        BILLING_MAX_STREAMS_PER_CONNECTION: String(STREAMS_PER_CONNECTION),
        BILLING_MAX_CALLS_IN_FLIGHT: String(CALLS_IN_FLIGHT),
        BILLING_HEADERS_TIMEOUT_MS: "300",
        BILLING_IDLE_TIMEOUT_MS: "400",
        BILLING_REQUEST_BODY_TIMEOUT_MS: "2000",
        BILLING_UNAUTHENTICATED_DELAY_MS: "100",
      },
    });
  });
  afterAll(async () => billing?.close());

  it("refuses unauthenticated 1 MiB bodies without reading them while legitimate calls are answered", async () => {
    const admin = billing.client("admin").wallet;
    await admin.openAccount({ userRef: "flood:1" });
    const sessions = await Promise.all([1, 2, 3, 4].map(() => connect(billing.server.url)));
    for (const session of sessions) {
      expect(session.remoteSettings.maxConcurrentStreams).toBe(STREAMS_PER_CONNECTION);
    }
    const body = envelope(new Uint8Array(MiB - 5));
    // Like h2load: as many streams per connection as the server allows, three rounds each.
    let sent = 0;
    const flood = sessions.map(async (session) => {
      const workers = Array.from({ length: STREAMS_PER_CONNECTION }, async () => {
        const answers = [];
        for (let round = 0; round < 3; round++) answers.push(await rawGrpc(session, GET_BALANCE, body));
        return answers;
      });
      const answers = (await Promise.all(workers)).flat();
      sent += session.socket.bytesWritten;
      return answers;
    });
    // Legitimate callers stay within the calls-in-flight cap (CALLS_IN_FLIGHT) between them.
    const legitimate = Array.from({ length: CALLS_IN_FLIGHT / 2 }, async () => {
      const balances = [];
      for (let call = 0; call < 8; call++) balances.push(await admin.getBalance({ userRef: "flood:1" }));
      return balances;
    });
    const [rounds, calls] = await Promise.all([Promise.all(flood), Promise.all(legitimate)]);
    const answers = rounds.flat();
    const balances = calls.flat();
    expect(balances).toHaveLength(CALLS_IN_FLIGHT * 4);

    expect(balances.every((b) => b.freeOperationsAvailable === 4n)).toBe(true);
    expect(answers.filter((a) => a.grpcStatus === Code.Unauthenticated)).toHaveLength(answers.length);
    // 240 MiB were offered; flow control let through at most one 16 KiB window per stream.
    expect(sent).toBeLessThan(answers.length * 32 * 1024);
    for (const session of sessions) session.close();
  });

  it("caps calls in flight for the whole server and answers the excess UNAVAILABLE, retryable", async () => {
    const session = await connect(billing.server.url);
    const token = { authorization: `Bearer ${billing.tokens.admin}` };
    // Admitted calls whose bodies never finish hold their place (until the body timeout cuts them).
    const held = Array.from({ length: CALLS_IN_FLIGHT }, () => {
      const stream = session.request({
        ":method": "POST",
        ":path": GET_BALANCE,
        "content-type": "application/grpc",
        te: "trailers",
        ...token,
      });
      stream.on("error", () => undefined);
      stream.write(Buffer.from([0, 0, 0, 0, 10]));
      return stream;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const other = await connect(billing.server.url);
    const refused = await rawGrpc(other, GET_BALANCE, envelope(new Uint8Array(0)), token);
    expect(refused.grpcStatus).toBe(Code.Unavailable);
    expect(refused.grpcMessage).toMatch(/too many calls in flight/);
    // The held streams are cut by the body timeout; then calls are admitted again.
    await Promise.all(held.map((stream) => new Promise((resolve) => stream.once("close", resolve))));
    expect(held.every((stream) => stream.rstCode === http2.constants.NGHTTP2_CANCEL)).toBe(true);
    const balance = await billing
      .client("admin", { maxAttempts: 1 })
      .wallet.getBalance({ userRef: "flood:1" });
    expect(balance.freeOperationsAvailable).toBe(4n);
    session.destroy();
    other.destroy();
  });

  it("closes connections that send nothing, and connections left idle", async () => {
    const url = new URL(billing.server.url);
    // (resume(): a paused socket would never see the server's FIN.)
    const silent = Array.from({ length: 25 }, () => net.connect(Number(url.port), url.hostname).resume());
    // Half of them start the HTTP/2 preface and stop there (slowloris).
    for (const [index, socket] of silent.entries()) if (index % 2 === 0) socket.write("PRI * HTTP/2.0\r\n");
    await Promise.all(silent.map((socket) => new Promise((resolve) => socket.once("close", resolve))));

    const idle = await connect(billing.server.url);
    const answer = await rawGrpc(idle, "/grpc.health.v1.Health/Check", envelope(new Uint8Array(0)));
    expect(answer.grpcStatus).toBe(0);
    await new Promise((resolve) => idle.once("close", resolve));
    expect(idle.destroyed).toBe(true);
  });

  it("keeps answering after the abuse", async () => {
    const wallet = billing.client("admin", { maxAttempts: 1 }).wallet;
    await expect(wallet.getBalance({ userRef: "flood:1" })).resolves.toMatchObject({
      freeOperationsAvailable: 4n,
    });
    await expect(wallet.getBalance({ userRef: "nobody" })).rejects.toSatisfy(
      (e: unknown) => ConnectError.from(e).code === Code.NotFound,
    );
  });
});
