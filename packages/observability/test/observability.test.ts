import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { Counter, createLogger, createMetricsRegistry, startOpsServer } from "../src/index.js";

describe("logger", () => {
  it("writes one JSON object per line and redacts secrets wherever they appear", () => {
    const lines: string[] = [];
    const destination = new Writable({
      write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()),
    });
    const log = createLogger({ app: "t", destination });
    log.info(
      { authorization: "Bearer abc", request: { token: "t0k3n", secretKey: "k3y" }, procedure: "p" },
      "rpc",
    );
    const record = JSON.parse(lines.join("")) as Record<string, unknown>;
    expect(record).toMatchObject({ app: "t", level: "info", msg: "rpc", procedure: "p" });
    expect(lines.join("")).not.toMatch(/abc|t0k3n|k3y/);
  });

  it("redacts nested secrets, in arrays, errors and child bindings, and leaves the caller's object as it was", () => {
    const lines: string[] = [];
    const destination = new Writable({
      write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()),
    });
    const log = createLogger({ app: "t", destination }).child({ token: "b1nd" });
    const fields = {
      call: { headers: { authorization: "Bearer n3st", cookie: "c00k" }, users: [{ password: "pw0" }] },
      attempt: 10,
    };
    const error = Object.assign(new Error("refused"), { secretKey: "3rr" });
    log.warn({ ...fields, err: error }, "refused");
    const text = lines.join("");
    expect(text).not.toMatch(/b1nd|n3st|c00k|pw0|3rr/);
    const record = JSON.parse(text) as {
      attempt: number;
      err: { message: string; secretKey: string; type: string };
      call: { headers: { authorization: string }; users: { password: string }[] };
    };
    expect(record.attempt).toBe(10);
    expect(record.err).toMatchObject({ message: "refused", type: "Error", secretKey: "[redacted]" });
    expect(record.call.headers.authorization).toBe("[redacted]");
    expect(record.call.users[0]?.password).toBe("[redacted]");
    // The caller keeps its values: redaction copies, it never writes into the logged object.
    expect(fields.call.headers.authorization).toBe("Bearer n3st");
    expect(fields.call.users[0]?.password).toBe("pw0");
    expect(error.secretKey).toBe("3rr");
  });
});

describe("ops server", () => {
  it("serves /healthz, /readyz and /metrics", async () => {
    const registry = createMetricsRegistry("test");
    new Counter({ name: "test_things_total", help: "things", registers: [registry] }).inc(3);
    let ready = false;
    const ops = await startOpsServer({ port: 0, host: "127.0.0.1", registry, ready: () => ready });
    try {
      const base = `http://127.0.0.1:${ops.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      ready = true;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('test_things_total{app="test"} 3');
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await ops.close();
    }
  });
});
