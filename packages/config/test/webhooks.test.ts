import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv, webhooksEnvSchema } from "../src/index.js";

const base = { BILLING_URL: "http://127.0.0.1:50051", BILLING_TOKEN: "webhooks-token-0123456789" };

describe("webhooks configuration", () => {
  it("defaults to YooKassa's ranges, no trusted proxy, 64 KiB bodies", () => {
    const config = parseEnv(webhooksEnvSchema, base);
    expect(config.allowedSenders).toEqual(["yookassa"]);
    expect(config.trustedProxies).toEqual([]);
    expect(config.maxBodyBytes).toBe(65_536);
    expect(config.port).toBe(8082);
    expect(config.natsNamespace).toBe("");
  });

  it("takes extra ranges and proxies as lists", () => {
    const config = parseEnv(webhooksEnvSchema, {
      ...base,
      WEBHOOKS_ALLOWED_SENDERS: "yookassa, 127.0.0.1/32",
      WEBHOOKS_TRUSTED_PROXIES: "10.0.0.0/8,::1",
    });
    expect(config.allowedSenders).toEqual(["yookassa", "127.0.0.1/32"]);
    expect(config.trustedProxies).toEqual(["10.0.0.0/8", "::1"]);
  });

  it("names bad variables without echoing the token", () => {
    let message = "";
    try {
      parseEnv(webhooksEnvSchema, {
        BILLING_URL: "grpc://billing",
        BILLING_TOKEN: "short-s3cr3t",
        WEBHOOKS_ALLOWED_SENDERS: "everyone",
        WEBHOOKS_MAX_BODY_BYTES: "0",
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      message = error.message;
    }
    for (const variable of [
      "BILLING_URL",
      "BILLING_TOKEN",
      "WEBHOOKS_ALLOWED_SENDERS",
      "WEBHOOKS_MAX_BODY_BYTES",
    ])
      expect(message).toContain(variable);
    expect(message).not.toContain("s3cr3t");
  });
});
