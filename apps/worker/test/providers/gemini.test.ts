import { sampleOutputPng, startFakeGemini, type FakeGemini } from "@billing/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_GEMINI_MODEL, GeminiProvider, type GeminiConfig } from "../../src/providers/index.js";
import { job, makeJpeg, never, png, providerError, solidPng } from "./fixtures.js";

let fake: FakeGemini;

beforeAll(async () => {
  fake = await startFakeGemini();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.clearFaults());

function provider(overrides: Partial<GeminiConfig> = {}): GeminiProvider {
  return new GeminiProvider({
    apiKey: fake.apiKey,
    baseUrl: fake.baseUrl,
    requestTimeoutMs: 2000,
    ...overrides,
  });
}

const photo = png(solidPng(16, 12, [10, 200, 30]));
const portrait = { bytes: makeJpeg(20, 20, (x) => [x * 10, 0, 0]), mimeType: "image/jpeg" };

describe("gemini adapter against the fake API", () => {
  it("generate: text in, the inline PNG out, key in the header", async () => {
    const result = await provider().generate(job("generate", { prompt: "a fox", seed: 9n }), never());
    expect(result).toMatchObject({ mimeType: "image/png", width: 64, height: 48 });
    expect(Buffer.from(result.bytes).equals(Buffer.from(sampleOutputPng()))).toBe(true);
    const call = fake.calls.at(-1)!;
    expect(call).toMatchObject({ model: DEFAULT_GEMINI_MODEL, text: "a fox", images: [] });
    expect(call.generationConfig).toMatchObject({ responseModalities: ["TEXT", "IMAGE"], seed: 9 });
    const request = fake.requests.at(-1)!;
    expect(request.path).toBe(`/v1beta/models/${DEFAULT_GEMINI_MODEL}:generateContent`);
    expect(request.headers["x-goog-api-key"]).toBe(fake.apiKey);
    expect(request.query.has("key")).toBe(false);
  });

  it("edit and face_swap: input images arrive intact, in order, with their real types", async () => {
    await provider().generate(job("edit", { prompt: "make it blue", images: [photo] }), never());
    const edit = fake.calls.at(-1)!;
    expect(edit.text).toBe("make it blue");
    expect(edit.images[0]?.mimeType).toBe("image/png");
    expect(Buffer.from(edit.images[0]!.bytes).equals(Buffer.from(photo.bytes))).toBe(true);

    await provider().generate(job("face_swap", { images: [photo, portrait] }), never());
    const swap = fake.calls.at(-1)!;
    expect(swap.text).toContain("face");
    expect(swap.images.map((image) => image.mimeType)).toEqual(["image/png", "image/jpeg"]);
    expect(Buffer.from(swap.images[1]!.bytes).equals(Buffer.from(portrait.bytes))).toBe(true);
  });

  it("accepts snake_case inline_data answers and a configured model", async () => {
    const snake = await startFakeGemini({ inlineDataStyle: "snake" });
    try {
      const result = await new GeminiProvider({
        apiKey: snake.apiKey,
        baseUrl: snake.baseUrl,
        model: "gemini-3-pro-image-preview",
      }).generate(job("generate", { prompt: "p" }), never());
      expect(result).toMatchObject({ width: 64, height: 48 });
      expect(snake.calls[0]?.model).toBe("gemini-3-pro-image-preview");
    } finally {
      await snake.close();
    }
  });

  it("a wrong key (400 API_KEY_INVALID) is a terminal misconfiguration, not the user's fault", async () => {
    const error = await providerError(
      provider({ apiKey: "wrong" }).generate(job("generate", { prompt: "p" }), never()),
    );
    expect(error).toMatchObject({ code: "misconfigured", kind: "terminal", httpStatus: 400 });
  });

  it("429 RESOURCE_EXHAUSTED is transient rate_limited with the RetryInfo delay", async () => {
    fake.failNext({ type: "rate_limit", retryAfterSeconds: 3 });
    const error = await providerError(provider().generate(job("generate", { prompt: "p" }), never()));
    expect(error).toMatchObject({
      code: "rate_limited",
      kind: "transient",
      retryAfterMs: 3000,
      httpStatus: 429,
    });
  });

  it.each([
    [500, "provider_unavailable"],
    [503, "provider_unavailable"],
    [504, "timeout"],
  ] as const)("HTTP %i is transient %s", async (status, code) => {
    fake.failNext({ type: "server_error", status });
    const error = await providerError(provider().generate(job("generate", { prompt: "p" }), never()));
    expect(error).toMatchObject({ code, kind: "transient", httpStatus: status });
  });

  it("a blocked prompt (promptFeedback.blockReason) is terminal content_rejected", async () => {
    fake.failNext({ type: "prompt_blocked", blockReason: "PROHIBITED_CONTENT" });
    const error = await providerError(
      provider().generate(job("edit", { prompt: "p", images: [photo] }), never()),
    );
    expect(error).toMatchObject({ code: "content_rejected", kind: "terminal" });
    expect(error.message).toContain("PROHIBITED_CONTENT");
  });

  it.each(["SAFETY", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT"])(
    "finishReason %s is terminal content_rejected",
    async (finishReason) => {
      fake.failNext({ type: "output_blocked", finishReason });
      const error = await providerError(provider().generate(job("generate", { prompt: "p" }), never()));
      expect(error).toMatchObject({ code: "content_rejected", kind: "terminal" });
    },
  );

  it("a text-only answer is terminal no_image", async () => {
    fake.failNext({ type: "text_only" });
    const error = await providerError(provider().generate(job("generate", { prompt: "p" }), never()));
    expect(error).toMatchObject({ code: "no_image", kind: "terminal" });
    expect(error.message).toContain("Here is the image");
  });

  it("malformed JSON is a transient bad_response", async () => {
    fake.failNext({ type: "malformed_json" });
    const error = await providerError(provider().generate(job("generate", { prompt: "p" }), never()));
    expect(error).toMatchObject({ code: "bad_response", kind: "transient" });
  });

  it("a dropped connection is a transient network_error", async () => {
    fake.failNext({ type: "drop" });
    expect(await providerError(provider().generate(job("generate", { prompt: "p" }), never()))).toMatchObject(
      {
        code: "network_error",
        kind: "transient",
      },
    );
    fake.failNext({ type: "drop", when: "mid_body" });
    expect(await providerError(provider().generate(job("generate", { prompt: "p" }), never()))).toMatchObject(
      {
        code: "network_error",
        kind: "transient",
      },
    );
  });

  it("an answer slower than the request timeout is a transient timeout", async () => {
    fake.failNext({ type: "slow", delayMs: 5000 });
    const started = Date.now();
    const error = await providerError(
      provider({ requestTimeoutMs: 150 }).generate(job("generate", { prompt: "p" }), never()),
    );
    expect(error).toMatchObject({ code: "timeout", kind: "transient" });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("the job's signal wins over the request timeout: deadline → timeout, cancel → aborted", async () => {
    fake.failNext({ type: "slow", delayMs: 5000 });
    expect(
      await providerError(
        provider({ requestTimeoutMs: 60_000 }).generate(
          job("generate", { prompt: "p" }),
          AbortSignal.timeout(100),
        ),
      ),
    ).toMatchObject({
      code: "timeout",
      kind: "transient",
    });
    fake.failNext({ type: "slow", delayMs: 5000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    expect(
      await providerError(
        provider({ requestTimeoutMs: 60_000 }).generate(job("generate", { prompt: "p" }), controller.signal),
      ),
    ).toMatchObject({
      code: "aborted",
      kind: "transient",
    });
  });

  it("invalid input is refused before any request is sent", async () => {
    const before = fake.requests.length;
    const error = await providerError(
      provider().generate(job("add_text", { prompt: "", images: [photo] }), never()),
    );
    expect(error).toMatchObject({ code: "invalid_input", kind: "terminal" });
    expect(fake.requests.length).toBe(before);
  });

  it("an answer that is not an image is refused", async () => {
    const liar = await startFakeGemini({ image: new TextEncoder().encode("<html>oops</html>") });
    try {
      const error = await providerError(
        new GeminiProvider({ apiKey: liar.apiKey, baseUrl: liar.baseUrl }).generate(
          job("generate", { prompt: "p" }),
          never(),
        ),
      );
      expect(error).toMatchObject({ code: "bad_response" });
    } finally {
      await liar.close();
    }
  });
});
