import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv, workerEnvSchema } from "../src/index.js";

const valid = { BILLING_URL: "http://127.0.0.1:50051", BILLING_TOKEN: "worker-token-0123456789" };

describe("worker: the expected duration of a job", () => {
  it("defaults to 30 s for every operation", () => {
    const { expectedJobMs } = parseEnv(workerEnvSchema, valid);
    expect(expectedJobMs.default).toBe(30_000);
    expect([...expectedJobMs.byOperation]).toEqual([]);
  });

  it("takes a default and per-operation overrides", () => {
    const { expectedJobMs } = parseEnv(workerEnvSchema, {
      ...valid,
      WORKER_EXPECTED_JOB_MS: "0",
      WORKER_EXPECTED_JOB_MS_BY_OPERATION: "upscale=60000, merge=45000",
    });
    expect(expectedJobMs.default).toBe(0);
    expect([...expectedJobMs.byOperation]).toEqual([
      ["upscale", 60_000],
      ["merge", 45_000],
    ]);
  });

  it("refuses malformed values, naming the variable", () => {
    for (const env of [
      { WORKER_EXPECTED_JOB_MS: "-1" },
      { WORKER_EXPECTED_JOB_MS: "soon" },
      { WORKER_EXPECTED_JOB_MS_BY_OPERATION: "upscale:60000" },
      { WORKER_EXPECTED_JOB_MS_BY_OPERATION: "Upscale=1" },
    ]) {
      let message = "";
      try {
        parseEnv(workerEnvSchema, { ...valid, ...env });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        message = error.message;
      }
      expect(message).toContain(Object.keys(env)[0]);
    }
  });
});
