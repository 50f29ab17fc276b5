import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpRequest, parseRetryAfterMs } from "../../src/providers/http.js";
import { never, providerError } from "./fixtures.js";

describe("parseRetryAfterMs", () => {
  it("reads delta-seconds and HTTP dates", () => {
    expect(parseRetryAfterMs("7")).toBe(7000);
    expect(parseRetryAfterMs(new Date(1_000_000 + 5000).toUTCString(), 1_000_000)).toBe(5000);
    expect(parseRetryAfterMs("soon")).toBeUndefined();
    expect(parseRetryAfterMs(null)).toBeUndefined();
  });
});

describe("httpRequest", () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    // /sized answers with a Content-Length, /chunked streams without one.
    server = createServer((req, res) => {
      const body = Buffer.alloc(2000, 120);
      if (req.url === "/sized") {
        res.writeHead(200, { "content-length": body.length });
        res.end(body);
      } else {
        res.writeHead(200);
        res.write(body.subarray(0, 1000));
        res.end(body.subarray(1000));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each(["/sized", "/chunked"])("refuses a body over the byte bound (%s)", async (path) => {
    const request = { url: `${base}${path}`, method: "GET", timeoutMs: 2000 } as const;
    const error = await providerError(httpRequest("test", { ...request, maxResponseBytes: 1999 }, never()));
    expect(error).toMatchObject({ code: "bad_response", kind: "transient" });
    const ok = await httpRequest("test", { ...request, maxResponseBytes: 2000 }, never());
    expect(ok.body.length).toBe(2000);
  });

  it("maps a refused connection to a transient network_error", async () => {
    // A port that was just free: nothing listens there now.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await providerError(
      httpRequest(
        "test",
        { url: `http://127.0.0.1:${port}/`, method: "GET", timeoutMs: 2000, maxResponseBytes: 10 },
        never(),
      ),
    );
    expect(error).toMatchObject({ code: "network_error", kind: "transient" });
    expect(error.message).toContain("ECONNREFUSED");
  });
});
