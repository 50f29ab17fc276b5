import { startFakeFal, type FakeFal } from "@billing/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FalProvider, type FalConfig } from "../../src/providers/index.js";
import { job, makeJpeg, never, png, providerError, solidPng } from "./fixtures.js";

let fake: FakeFal;

beforeAll(async () => {
  fake = await startFakeFal();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.clearFaults();
  fake.pollsUntilComplete = 2;
});

function provider(overrides: Partial<FalConfig> = {}): FalProvider {
  return new FalProvider({
    apiKey: fake.apiKey,
    baseUrl: fake.baseUrl,
    pollIntervalMs: 5,
    requestTimeoutMs: 2000,
    ...overrides,
  });
}

/** Requests the fake received while `action` ran. */
async function during<T>(action: () => Promise<T>): Promise<{ result: T; paths: string[] }> {
  const before = fake.requests.length;
  const result = await action();
  return { result, paths: fake.requests.slice(before).map((request) => `${request.method} ${request.path}`) };
}

const photo = png(solidPng(16, 12, [10, 200, 30]));
const second = { bytes: makeJpeg(20, 20, (x) => [x * 10, 0, 0]), mimeType: "image/jpeg" };

describe("fal adapter against the fake queue", () => {
  it("generate: submits, polls through IN_QUEUE and IN_PROGRESS, downloads the image without the key", async () => {
    const { result, paths } = await during(() =>
      provider().generate(job("generate", { prompt: "a fox", seed: 5n }), never()),
    );
    expect(result).toMatchObject({ mimeType: "image/png", width: 64, height: 48 });
    const submission = fake.submissions.at(-1)!;
    expect(submission.model).toBe("fal-ai/flux/dev");
    expect(submission.input).toMatchObject({ prompt: "a fox", seed: 5, num_images: 1, output_format: "png" });
    // Status and result live under the app id (fal-ai/flux), not the full model path.
    const id = submission.requestId;
    expect(paths).toEqual([
      "POST /fal-ai/flux/dev",
      `GET /fal-ai/flux/requests/${id}/status`,
      `GET /fal-ai/flux/requests/${id}/status`,
      `GET /fal-ai/flux/requests/${id}/status`,
      `GET /fal-ai/flux/requests/${id}`,
      `GET /files/${id}.png`,
    ]);
    const download = fake.requests.at(-1)!;
    expect(download.headers.authorization).toBeUndefined();
    expect(fake.requests.at(-2)!.headers.authorization).toBe(`Key ${fake.apiKey}`);
  });

  it("edit: the input image arrives byte for byte as a data URI", async () => {
    await provider().generate(job("edit", { prompt: "make it blue", images: [photo] }), never());
    const submission = fake.submissions.at(-1)!;
    expect(submission.model).toBe("fal-ai/nano-banana/edit");
    expect(submission.input["prompt"]).toBe("make it blue");
    const [sent] = fake.inputImages(submission);
    expect(sent?.mimeType).toBe("image/png");
    expect(Buffer.from(sent!.bytes).equals(Buffer.from(photo.bytes))).toBe(true);
  });

  it("merge: both images, in order, with their real types", async () => {
    await provider().generate(job("merge", { images: [photo, second] }), never());
    const sent = fake.inputImages(fake.submissions.at(-1)!);
    expect(sent.map((image) => image.mimeType)).toEqual(["image/png", "image/jpeg"]);
    expect(Buffer.from(sent[1]!.bytes).equals(Buffer.from(second.bytes))).toBe(true);
  });

  it("add_text quotes the user's text inside an instruction", async () => {
    await provider().generate(job("add_text", { prompt: 'Скидка "50%"', images: [photo] }), never());
    expect(fake.submissions.at(-1)!.input["prompt"]).toContain('"Скидка \\"50%\\""');
  });

  it("upscale: the upscaler route (one image_url, no prompt) and its single-image result", async () => {
    const result = await provider().generate(job("upscale", { images: [photo] }), never());
    expect(result).toMatchObject({ width: 64, height: 48 });
    const submission = fake.submissions.at(-1)!;
    expect(submission.model).toBe("fal-ai/esrgan");
    expect(Object.keys(submission.input).sort()).toEqual(["image_url", "scale"]);
  });

  it("routes are configurable, including one field per image", async () => {
    const custom = provider({
      routes: {
        face_swap: {
          model: "fal-ai/face-swap",
          images: { fields: ["base_image_url", "swap_image_url"] },
          promptField: null,
        },
      },
    });
    await custom.generate(job("face_swap", { images: [photo, second] }), never());
    const submission = fake.submissions.at(-1)!;
    expect(submission.model).toBe("fal-ai/face-swap");
    expect(Object.keys(submission.input).sort()).toEqual(["base_image_url", "seed", "swap_image_url"]);
    const [base, swap] = fake.inputImages(submission);
    expect(Buffer.from(base!.bytes).equals(Buffer.from(photo.bytes))).toBe(true);
    expect(Buffer.from(swap!.bytes).equals(Buffer.from(second.bytes))).toBe(true);
    expect(
      () => new FalProvider({ apiKey: "k", routes: { merge: { model: "m", images: { fields: ["a"] } } } }),
    ).toThrow(/needs 2/);
  });

  it("invalid input is refused before any request is sent", async () => {
    const { result, paths } = await during(() =>
      providerError(provider().generate(job("merge", { images: [photo] }), never())),
    );
    expect(result).toMatchObject({
      code: "invalid_input",
      kind: "terminal",
      userMessage: "Please send exactly two photos.",
    });
    expect(paths).toEqual([]);
  });

  it("a wrong key is a terminal misconfiguration", async () => {
    const error = await providerError(
      provider({ apiKey: "wrong" }).generate(job("generate", { prompt: "p" }), never()),
    );
    expect(error).toMatchObject({ code: "misconfigured", kind: "terminal", httpStatus: 401 });
  });

  it("429 on submit is transient rate_limited with the Retry-After delay", async () => {
    fake.failNext("submit", { type: "rate_limit", retryAfterSeconds: 7 });
    const error = await providerError(provider().generate(job("generate", { prompt: "p" }), never()));
    expect(error).toMatchObject({
      code: "rate_limited",
      kind: "transient",
      retryAfterMs: 7000,
      httpStatus: 429,
    });
  });

  it.each([
    [500, "provider_unavailable"],
    [503, "provider_unavailable"],
    [504, "timeout"],
  ] as const)("HTTP %i on submit is transient %s", async (status, code) => {
    fake.failNext("submit", { type: "server_error", status });
    const error = await providerError(provider().generate(job("generate", { prompt: "p" }), never()));
    expect(error).toMatchObject({ code, kind: "transient", httpStatus: status });
  });

  it("a submit is never repeated by the adapter (each one is billed)", async () => {
    fake.failNext("submit", { type: "server_error", status: 503 });
    const before = fake.submissions.length;
    const { paths } = await during(() =>
      providerError(provider().generate(job("generate", { prompt: "p" }), never())),
    );
    expect(paths).toEqual(["POST /fal-ai/flux/dev"]);
    expect(fake.submissions.length).toBe(before);
  });

  it("passing faults while polling are ridden out; too many in a row fail the job", async () => {
    fake.failNext("status", { type: "server_error", status: 503 });
    fake.failNext("status", { type: "drop" });
    await expect(provider().generate(job("generate", { prompt: "p" }), never())).resolves.toMatchObject({
      width: 64,
    });
    fake.failNext("status", { type: "server_error", status: 503 }, 4);
    const error = await providerError(
      provider({ maxConsecutivePollErrors: 3 }).generate(job("generate", { prompt: "p" }), never()),
    );
    expect(error).toMatchObject({ code: "provider_unavailable", kind: "transient" });
  });

  it("a content-policy refusal in the result is terminal content_rejected", async () => {
    fake.failNext("result", { type: "content_policy" });
    const error = await providerError(
      provider().generate(job("edit", { prompt: "p", images: [photo] }), never()),
    );
    expect(error).toMatchObject({ code: "content_rejected", kind: "terminal", httpStatus: 422 });
    expect(error.userMessage).toContain("content policy");
  });

  it("an image flagged by the safety checker is content_rejected, not a black square", async () => {
    fake.failNext("result", { type: "nsfw_flagged" });
    const error = await providerError(provider().generate(job("generate", { prompt: "p" }), never()));
    expect(error).toMatchObject({ code: "content_rejected", kind: "terminal" });
  });

  it.each(["submit", "status", "result"] as const)(
    "malformed JSON from %s is a transient bad_response",
    async (stage) => {
      fake.failNext(stage, { type: "malformed_json" }, stage === "status" ? 4 : 1);
      const error = await providerError(provider().generate(job("generate", { prompt: "p" }), never()));
      expect(error).toMatchObject({ code: "bad_response", kind: "transient" });
    },
  );

  it("a dropped connection is a transient network_error (before headers or mid-body)", async () => {
    fake.failNext("submit", { type: "drop" });
    expect(await providerError(provider().generate(job("generate", { prompt: "p" }), never()))).toMatchObject(
      {
        code: "network_error",
        kind: "transient",
      },
    );
    fake.failNext("result", { type: "drop", when: "mid_body" });
    expect(await providerError(provider().generate(job("generate", { prompt: "p" }), never()))).toMatchObject(
      {
        code: "network_error",
        kind: "transient",
      },
    );
    fake.failNext("file", { type: "drop" });
    expect(await providerError(provider().generate(job("generate", { prompt: "p" }), never()))).toMatchObject(
      {
        code: "network_error",
      },
    );
  });

  it("a request slower than the per-request timeout is a transient timeout", async () => {
    fake.failNext("submit", { type: "slow", delayMs: 5000 });
    const started = Date.now();
    const error = await providerError(
      provider({ requestTimeoutMs: 150 }).generate(job("generate", { prompt: "p" }), never()),
    );
    expect(error).toMatchObject({ code: "timeout", kind: "transient" });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("the job's deadline stops polling, fails with a timeout and cancels the fal request", async () => {
    fake.pollsUntilComplete = 1_000_000;
    const started = Date.now();
    const error = await providerError(
      provider().generate(job("generate", { prompt: "p" }), AbortSignal.timeout(200)),
    );
    expect(error).toMatchObject({ code: "timeout", kind: "transient" });
    expect(Date.now() - started).toBeLessThan(2000);
    const id = fake.submissions.at(-1)!.requestId;
    await expect.poll(() => fake.cancelled.includes(id), { timeout: 2000 }).toBe(true);
  });

  it("the poll budget bounds a request that never completes", async () => {
    fake.pollsUntilComplete = 1_000_000;
    const error = await providerError(
      provider({ maxPolls: 3 }).generate(job("generate", { prompt: "p" }), never()),
    );
    expect(error).toMatchObject({ code: "timeout", kind: "transient" });
    expect(error.message).toContain("3 polls");
    const id = fake.submissions.at(-1)!.requestId;
    await expect.poll(() => fake.cancelled.includes(id), { timeout: 2000 }).toBe(true);
  });
});
