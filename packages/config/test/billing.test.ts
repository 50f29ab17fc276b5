import { describe, expect, it } from "vitest";
import { billingEnvSchema, ConfigError, parseEnv } from "../src/index.js";

const valid = {
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/billing",
  BILLING_TOKENS: "admin:admin-token-0123456789,bot:bot-token-0123456789,bot:bot-token-rotated-0123",
};

describe("billing configuration", () => {
  it("parses a valid environment with defaults from the product", () => {
    const config = parseEnv(billingEnvSchema, valid);
    expect(config.port).toBe(50051);
    expect(config.tokens.map((t) => t.scope)).toEqual(["admin", "bot", "bot"]);
    expect(config.prices.get("generate")).toBe(10n);
    expect(config.prices.get("add_text")).toBe(0n);
    expect([...config.prices.keys()]).toEqual([
      "generate",
      "edit",
      "merge",
      "face_swap",
      "retouch",
      "upscale",
      "add_text",
    ]);
    expect(config.starterFreeOperations).toBe(4n);
    expect(config.lowBalanceThresholdCredits).toBe(20n);
    expect(config.tls).toBeUndefined();
  });

  it("takes a low-balance threshold of 0 to 1000000000 credits", () => {
    const threshold = (value: string) =>
      parseEnv(billingEnvSchema, { ...valid, BILLING_LOW_BALANCE_THRESHOLD_CREDITS: value })
        .lowBalanceThresholdCredits;
    expect(threshold("0")).toBe(0n);
    expect(threshold("150")).toBe(150n);
    expect(() => threshold("-5")).toThrow(
      /BILLING_LOW_BALANCE_THRESHOLD_CREDITS: must be a non-negative integer/,
    );
    expect(() => threshold("1000000001")).toThrow(/BILLING_LOW_BALANCE_THRESHOLD_CREDITS: must be at most/);
  });

  it("treats empty variables as unset", () => {
    expect(parseEnv(billingEnvSchema, { ...valid, BILLING_PORT: "" }).port).toBe(50051);
  });

  it("names every bad variable and never echoes a secret", () => {
    const secret = "s3cr3t";
    let error: unknown;
    try {
      parseEnv(billingEnvSchema, {
        DATABASE_URL: "mysql://x",
        BILLING_TOKENS: `wizard:${secret}-0123456789abcdef,bot:${secret}`,
        BILLING_PRICES: "generate:ten",
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const variable of ["DATABASE_URL", "BILLING_TOKENS", "BILLING_PRICES"])
      expect(message).toContain(variable);
    expect(message).toContain("scope must be one of");
    expect(message).toContain("at least 16 characters");
    expect(message).not.toContain(secret);
  });

  it("wants TLS certificate and key together", () => {
    expect(() => parseEnv(billingEnvSchema, { ...valid, BILLING_TLS_CERT: "/tmp/cert.pem" })).toThrow(
      /BILLING_TLS_CERT: set both/,
    );
  });

  it("refuses a token used twice and a price listed twice", () => {
    expect(() =>
      parseEnv(billingEnvSchema, {
        ...valid,
        BILLING_TOKENS: "admin:same-token-0123456789,bot:same-token-0123456789",
      }),
    ).toThrow(/the same token appears twice/);
    expect(() => parseEnv(billingEnvSchema, { ...valid, BILLING_PRICES: "generate:10,generate:5" })).toThrow(
      /listed twice/,
    );
  });
});

describe("billing outbox configuration", () => {
  it("relays by default in the production namespace, with a bounded batch and poll interval", () => {
    const config = parseEnv(billingEnvSchema, valid);
    expect(config).toMatchObject({
      outboxEnabled: true,
      natsNamespace: "",
      outboxPollIntervalMs: 200,
      outboxBatchSize: 100,
    });
    expect(parseEnv(billingEnvSchema, { ...valid, NATS_NAMESPACE: "t_outbox_1" }).natsNamespace).toBe(
      "t_outbox_1",
    );
    expect(() => parseEnv(billingEnvSchema, { ...valid, BILLING_OUTBOX_BATCH_SIZE: "100000" })).toThrow(
      /BILLING_OUTBOX_BATCH_SIZE/,
    );
  });
});

describe("billing edge configuration", () => {
  it("binds every listener to BILLING_HOST unless BILLING_METRICS_HOST says otherwise", () => {
    const loopback = parseEnv(billingEnvSchema, { ...valid, BILLING_HOST: "127.0.0.1" });
    expect([loopback.host, loopback.metricsHost, loopback.http1Port]).toEqual([
      "127.0.0.1",
      "127.0.0.1",
      undefined,
    ]);
    const split = parseEnv(billingEnvSchema, {
      ...valid,
      BILLING_METRICS_HOST: "10.0.0.5",
      BILLING_HTTP1_PORT: "50052",
    });
    expect([split.host, split.metricsHost, split.http1Port]).toEqual(["0.0.0.0", "10.0.0.5", 50052]);
    expect(() => parseEnv(billingEnvSchema, { ...valid, BILLING_HOST: "http://x:1" })).toThrow(
      /BILLING_HOST/,
    );
  });

  it("has limits a legitimate caller never meets and an attacker always does", () => {
    expect(parseEnv(billingEnvSchema, valid).limits).toEqual({
      readMaxBytes: 65_536,
      maxStreamsPerConnection: 100,
      maxCallsInFlight: 1_000,
      maxSessionMemoryMb: 10,
      idleTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      requestBodyTimeoutMs: 10_000,
      defaultDeadlineMs: 30_000,
      dbProbeIntervalMs: 1_000,
      unauthenticatedDelayMs: 1_000,
    });
    const tuned = parseEnv(billingEnvSchema, {
      ...valid,
      BILLING_READ_MAX_BYTES: "16384",
      BILLING_MAX_CALLS_IN_FLIGHT: "50",
    });
    expect([tuned.limits.readMaxBytes, tuned.limits.maxCallsInFlight]).toEqual([16_384, 50]);
    expect(() => parseEnv(billingEnvSchema, { ...valid, BILLING_READ_MAX_BYTES: "0" })).toThrow(
      /BILLING_READ_MAX_BYTES/,
    );
    expect(() =>
      parseEnv(billingEnvSchema, { ...valid, BILLING_READ_MAX_BYTES: String(8 * 1024 * 1024) }),
    ).toThrow(/BILLING_READ_MAX_BYTES/);
  });
});
