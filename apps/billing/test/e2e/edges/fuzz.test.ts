// Random bytes as the request body of every RPC, over gRPC (framed) and Connect (unary, binary),
// with and without a token: the answer is always INVALID_ARGUMENT, UNAUTHENTICATED or
// RESOURCE_EXHAUSTED (or, for calls without side effects, an answer or NOT_FOUND), never INTERNAL,
// and no table changes. Deterministic by default (FUZZ_SEED to explore).
import type http2 from "node:http2";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { Health } from "@billing/proto/grpc/health/v1/health_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BILLING_SERVICES } from "../../../src/routes.js";
import { connect, envelope, type EdgeBilling, rawGrpc, startEdgeBilling } from "./harness.js";

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const RESOURCE_EXHAUSTED = 8;
const UNAUTHENTICATED = 16;
const REFUSALS = [INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAUTHENTICATED];

const METHODS = [...BILLING_SERVICES, Health].flatMap((service) =>
  service.methods
    .filter((method) => method.methodKind === "unary")
    .map((method) => ({
      path: `/${service.typeName}/${method.name}`,
      readOnly: method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS || service === Health,
    })),
);
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2_000);

describe("random request bodies", () => {
  let billing: EdgeBilling;
  let session: http2.ClientHttp2Session;
  let before: string;
  beforeAll(async () => {
    billing = await startEdgeBilling({ label: "edge_fuzz", env: { BILLING_READ_MAX_BYTES: "1024" } });
    session = await connect(billing.server.url);
    before = await billing.snapshot();
  });
  afterAll(async () => {
    session?.close();
    await billing?.close();
  });

  const caseArbitrary = fc.record({
    method: fc.constantFrom(...METHODS),
    body: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 900, maxLength: 1_300 })),
    token: fc.constantFrom<"admin" | "none" | "bot">("admin", "none", "bot"),
    protocol: fc.constantFrom<"grpc" | "connect">("grpc", "connect"),
  });

  it("answers every random body with a refusal, never INTERNAL, and writes nothing", async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(caseArbitrary, async ({ method, body, token, protocol }) => {
        const headers: Record<string, string> =
          token === "none" ? {} : { authorization: `Bearer ${billing.tokens[token]}` };
        const status =
          protocol === "grpc"
            ? (await rawGrpc(session, method.path, envelope(body), headers)).grpcStatus
            : await connectUnary(session, method.path, body, headers);
        seen.set(String(status), (seen.get(String(status)) ?? 0) + 1);
        const allowed = method.readOnly ? [...REFUSALS, 0, NOT_FOUND] : REFUSALS;
        // The bot token may not call everything: PERMISSION_DENIED (7) is the auth gate answering.
        if (token === "bot" && status === 7) return;
        expect(allowed, `${protocol} ${method.path} (${token}) answered ${status}`).toContain(status);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    expect(seen.get("3")).toBeGreaterThan(RUNS / 10);
    expect(seen.get("16")).toBeGreaterThan(RUNS / 10);
    expect(seen.has("13")).toBe(false);
    expect(await billing.snapshot()).toBe(before);
  }, 180_000);

  it("counts undecodable requests on /metrics", async () => {
    const metrics = await fetch(`http://127.0.0.1:${billing.server.metricsPort}/metrics`).then((r) =>
      r.text(),
    );
    expect(metrics).toMatch(/billing_rpc_undecodable_total\{procedure="[^"]+"[^}]*\} [1-9]/);
  });
});

/** A Connect unary call with a binary body; returns the gRPC code number of the answer (0 = ok). */
function connectUnary(
  session: http2.ClientHttp2Session,
  path: string,
  body: Uint8Array,
  headers: Record<string, string>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/proto",
      "connect-protocol-version": "1",
      ...headers,
    });
    const chunks: Buffer[] = [];
    let httpStatus = 0;
    stream.on("response", (h) => (httpStatus = Number(h[":status"])));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("end", () => {
      if (httpStatus === 200) return resolve(0);
      const { code } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { code: string };
      resolve(CONNECT_CODES.indexOf(code));
    });
    stream.end(body);
  });
}

const CONNECT_CODES = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
];
