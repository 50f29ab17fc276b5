import { describe, expect, it } from "vitest";
import {
  createProvider,
  FalProvider,
  GeminiProvider,
  LocalProvider,
  type ProviderConfig,
} from "../../src/providers/index.js";

describe("createProvider", () => {
  it("selects local by default and fal or gemini by name", () => {
    expect(createProvider()).toBeInstanceOf(LocalProvider);
    expect(createProvider({ name: "local", local: { zeroWork: true } }).name).toBe("local");
    expect(createProvider({ name: "fal", fal: { apiKey: "k" } })).toBeInstanceOf(FalProvider);
    expect(
      createProvider({ name: "gemini", gemini: { apiKey: "k", baseUrl: "http://127.0.0.1:1" } }),
    ).toBeInstanceOf(GeminiProvider);
  });

  it("fails at start-up on an unknown name or a missing key", () => {
    expect(() => createProvider({ name: "dalle" } as unknown as ProviderConfig)).toThrow(
      /unknown image provider "dalle"/,
    );
    expect(() => createProvider({ name: "fal", fal: { apiKey: "" } })).toThrow(/apiKey/);
    expect(() => createProvider({ name: "gemini", gemini: { apiKey: "k", model: "../etc" } })).toThrow(
      /model/,
    );
  });
});
