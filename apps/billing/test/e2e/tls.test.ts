// With BILLING_TLS_CERT and BILLING_TLS_KEY, billing serves gRPC over TLS (HTTP/2) instead of h2c.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { WalletService } from "@billing/proto/billing/v1/wallet_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBilling, type TestBilling } from "../support/helpers.js";

describe("TLS", () => {
  const dir = mkdtempSync(join(tmpdir(), "billing-tls-"));
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  let billing: TestBilling;
  beforeAll(async () => {
    // A throwaway self-signed certificate for 127.0.0.1.
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        keyPath,
        "-out",
        certPath,
      ],
      { stdio: "ignore" },
    );
    billing = await startTestBilling({
      label: "tls",
      env: { BILLING_TLS_CERT: certPath, BILLING_TLS_KEY: keyPath },
    });
  });
  afterAll(async () => {
    await billing?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers gRPC over TLS to a client that trusts the certificate, and refuses one that does not", async () => {
    expect(billing.server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const trusting = createClient(
      WalletService,
      createGrpcTransport({
        baseUrl: billing.server.url,
        nodeOptions: { ca: readFileSync(certPath) },
        interceptors: [
          (next) => (req) => (req.header.set("authorization", `Bearer ${billing.tokens.bot}`), next(req)),
        ],
      }),
    );
    const prices = await trusting.getPriceList({});
    expect(prices.prices.map((p) => p.operation)).toContain("generate");

    const untrusting = createClient(WalletService, createGrpcTransport({ baseUrl: billing.server.url }));
    await expect(untrusting.getPriceList({})).rejects.toThrow(/certificate/i);
  });
});
