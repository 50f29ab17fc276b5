// Every listener binds the configured host (the metrics port included), Connect is served over
// HTTP/1.1 on BILLING_HTTP1_PORT with the same authentication, and a call without a deadline gets
// the server's default one.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, envelope, type EdgeBilling, rawGrpc, startEdgeBilling } from "./harness.js";
import { startTcpProxy, type TcpProxy, throughProxy } from "./tcp-proxy.js";

/** Linux routes all of 127.0.0.0/8 to loopback: a listener on .2 is not reachable on .1. */
const HOST = "127.0.0.2";

const reachable = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, host);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

describe("listeners", () => {
  let billing: EdgeBilling;
  beforeAll(async () => {
    billing = await startEdgeBilling({
      label: "edge_listen",
      env: { BILLING_HOST: HOST, BILLING_HTTP1_PORT: "0" },
    });
  });
  afterAll(async () => billing?.close());

  it("binds the RPC, HTTP/1.1 and metrics ports to BILLING_HOST only", async () => {
    const { port, http1Port, metricsPort } = billing.server;
    expect(http1Port).toBeGreaterThan(0);
    for (const listening of [port, http1Port!, metricsPort]) {
      expect(await reachable(HOST, listening)).toBe(true);
      expect(await reachable("127.0.0.1", listening)).toBe(false);
    }
  });

  it("serves Connect over HTTP/1.1, with the same authentication", async () => {
    const url = `http://${HOST}:${billing.server.http1Port}/billing.v1.WalletService/GetPriceList`;
    const call = (headers: Record<string, string>) =>
      fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: "{}" });
    const answer = await call({ authorization: `Bearer ${billing.tokens.admin}` });
    expect(answer.status).toBe(200);
    const { prices } = (await answer.json()) as { prices: { operation: string; priceCredits: string }[] };
    expect(prices).toContainEqual(expect.objectContaining({ operation: "generate", priceCredits: "10" }));
    const anonymous = await call({});
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { code: string }).code).toBe("unauthenticated");
  });
});

describe("default deadline", () => {
  let proxy: TcpProxy;
  let billing: EdgeBilling;
  beforeAll(async () => {
    proxy = await startTcpProxy({ host: "127.0.0.1", port: 5432 });
    billing = await startEdgeBilling({
      label: "edge_deadline",
      databaseUrl: (url) => throughProxy(url, proxy),
      env: { BILLING_DEFAULT_DEADLINE_MS: "300", BILLING_HOLD_SWEEP_INTERVAL_MS: "600000" },
    });
  });
  afterAll(async () => {
    proxy?.heal();
    await billing?.close();
    await proxy?.close();
  });

  it("answers DEADLINE_EXCEEDED when the caller sets no deadline and the database hangs", async () => {
    proxy.stall();
    const session = await connect(billing.server.url);
    const token = { authorization: `Bearer ${billing.tokens.admin}` };
    // GetBalance{user_ref: "u1"} with no grpc-timeout header.
    const answer = await rawGrpc(
      session,
      "/billing.v1.WalletService/GetBalance",
      envelope(Buffer.from([10, 2, 0x75, 0x31])),
      token,
    );
    expect(answer.grpcStatus).toBe(4);
    expect(answer.grpcMessage).toMatch(/default deadline of 300 ms/);
    session.close();
  });
});
