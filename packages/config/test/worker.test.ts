import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv, workerEnvSchema } from "../src/index.js";

const valid = { BILLING_URL: "http://127.0.0.1:50051", BILLING_TOKEN: "worker-token-0123456789" };

function problems(env: Record<string, string>): string {
  try {
    parseEnv(workerEnvSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("worker configuration", () => {
  it("parses a minimal environment with bounded defaults and the local provider", () => {
    const config = parseEnv(workerEnvSchema, valid);
    expect(config).toMatchObject({
      natsUrl: "nats://127.0.0.1:4222",
      natsNamespace: "",
      natsStreamReplicas: 1,
      billingUrl: "http://127.0.0.1:50051",
      concurrency: 4,
      jobTimeoutMs: 120_000,
      maxDeliver: 5,
      ackWaitMs: 30_000,
      opsPort: 9465,
      provider: { name: "local", local: { delayMs: 0, zeroWork: false } },
    });
  });

  it("builds the hosted provider's settings, and wants its key", () => {
    expect(
      parseEnv(workerEnvSchema, {
        ...valid,
        WORKER_PROVIDER: "fal",
        FAL_KEY: "fal-key-123456",
        FAL_BASE_URL: "http://127.0.0.1:9999",
      }).provider,
    ).toEqual({ name: "fal", fal: { apiKey: "fal-key-123456", baseUrl: "http://127.0.0.1:9999" } });
    expect(
      parseEnv(workerEnvSchema, { ...valid, WORKER_PROVIDER: "gemini", GEMINI_API_KEY: "gemini-key-123" })
        .provider,
    ).toEqual({
      name: "gemini",
      gemini: { apiKey: "gemini-key-123" },
    });
    expect(problems({ ...valid, WORKER_PROVIDER: "fal" })).toContain(
      "FAL_KEY: is required when WORKER_PROVIDER=fal",
    );
    expect(problems({ ...valid, WORKER_PROVIDER: "gemini" })).toContain(
      "GEMINI_API_KEY: is required when WORKER_PROVIDER=gemini",
    );
    expect(problems({ ...valid, WORKER_PROVIDER: "dalle" })).toContain(
      "WORKER_PROVIDER: must be one of local, fal, gemini",
    );
  });

  it("names every bad variable, keeps everything bounded, and never echoes a secret", () => {
    const message = problems({
      BILLING_TOKEN: "short",
      WORKER_CONCURRENCY: "1000",
      WORKER_MAX_DELIVER: "0",
      WORKER_ACK_WAIT_MS: "10",
      NATS_NAMESPACE: "Has.Dots",
      NATS_STREAM_REPLICAS: "7",
    });
    for (const variable of [
      "BILLING_URL",
      "BILLING_TOKEN",
      "WORKER_CONCURRENCY",
      "WORKER_MAX_DELIVER",
      "WORKER_ACK_WAIT_MS",
      "NATS_NAMESPACE",
      "NATS_STREAM_REPLICAS",
    ]) {
      expect(message).toContain(variable);
    }
    expect(message).not.toContain("short");
  });
});
