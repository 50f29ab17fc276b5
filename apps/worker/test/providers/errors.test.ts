import { describe, expect, it } from "vitest";
import {
  MAX_RETRY_AFTER_MS,
  PROVIDER_ERROR_KINDS,
  ProviderError,
  retryDelayMs,
  toProviderError,
  type ProviderErrorCode,
} from "../../src/providers/index.js";

describe("ProviderError", () => {
  it("takes its kind from its code, with a default user message for every code", () => {
    for (const code of Object.keys(PROVIDER_ERROR_KINDS) as ProviderErrorCode[]) {
      const error = new ProviderError(code, "internal detail");
      expect(error.kind).toBe(PROVIDER_ERROR_KINDS[code]);
      expect(error.userMessage.length).toBeGreaterThan(10);
      expect(error.userMessage).not.toContain("internal detail");
    }
    expect(new ProviderError("rate_limited", "x").kind).toBe("transient");
    expect(new ProviderError("content_rejected", "x").kind).toBe("terminal");
  });

  it("clamps a provider's Retry-After to a sane range", () => {
    expect(new ProviderError("rate_limited", "x", { retryAfterMs: 3_600_000 }).retryAfterMs).toBe(
      MAX_RETRY_AFTER_MS,
    );
    expect(new ProviderError("rate_limited", "x", { retryAfterMs: -5 }).retryAfterMs).toBe(0);
    expect(new ProviderError("rate_limited", "x").retryAfterMs).toBeUndefined();
  });

  it("turns unknown throws into terminal internal errors without leaking them to the user", () => {
    const error = toProviderError(new TypeError("x is undefined"), "local");
    expect(error).toMatchObject({ code: "internal", kind: "terminal", provider: "local" });
    expect(error.userMessage).not.toContain("undefined");
    const original = new ProviderError("timeout", "t");
    expect(toProviderError(original, "fal")).toBe(original);
  });
});

describe("retryDelayMs", () => {
  const transient = new ProviderError("provider_unavailable", "x");
  it("does not retry terminal errors", () => {
    expect(retryDelayMs(new ProviderError("invalid_input", "x"), 1)).toBeUndefined();
  });
  it("grows exponentially within the cap, with jitter in the upper half", () => {
    const low = { random: () => 0 };
    const high = { random: () => 0.999999 };
    expect(retryDelayMs(transient, 1, low)).toBe(500);
    expect(retryDelayMs(transient, 1, high)).toBe(1000);
    expect(retryDelayMs(transient, 3, low)).toBe(2000);
    expect(retryDelayMs(transient, 50, high)).toBe(60_000);
  });
  it("never retries sooner than the provider asked", () => {
    const limited = new ProviderError("rate_limited", "x", { retryAfterMs: 30_000 });
    expect(retryDelayMs(limited, 1, { random: () => 0 })).toBe(30_000);
  });
});
