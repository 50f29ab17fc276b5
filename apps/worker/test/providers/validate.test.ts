import { describe, expect, it } from "vitest";
import {
  DEFAULT_INPUT_LIMITS,
  OPERATIONS,
  readImageHeader,
  validateGenerationInput,
  type GenerationInput,
  type Operation,
} from "../../src/providers/index.js";
import { job, makeJpeg, png, pngHeaderOnly, solidPng } from "./fixtures.js";

const photo = png(solidPng(8, 8, [200, 10, 10]));

function refusal(
  input: GenerationInput,
  limits = DEFAULT_INPUT_LIMITS,
): { code: string; kind: string; userMessage: string } {
  try {
    validateGenerationInput(input, limits);
  } catch (error) {
    const { code, kind, userMessage } = error as { code: string; kind: string; userMessage: string };
    return { code, kind, userMessage };
  }
  throw new Error("expected a refusal");
}

const valid: Record<Operation, GenerationInput> = {
  generate: job("generate", { prompt: "a cat" }),
  edit: job("edit", { prompt: "make it blue", images: [photo] }),
  merge: job("merge", { images: [photo, photo] }),
  face_swap: job("face_swap", { images: [photo, photo] }),
  retouch: job("retouch", { images: [photo] }),
  upscale: job("upscale", { images: [photo] }),
  add_text: job("add_text", { prompt: "Hello", images: [photo] }),
};

describe("validateGenerationInput", () => {
  it.each(OPERATIONS)("accepts a well-formed %s job", (operation) => {
    const images = validateGenerationInput(valid[operation]);
    expect(images).toHaveLength(valid[operation].images.length);
    for (const image of images) expect(image).toMatchObject({ mimeType: "image/png", width: 8, height: 8 });
  });

  const wrongCounts: [Operation, number, string][] = [
    ["generate", 1, "This mode makes a picture from text only. Please send no photos."],
    ["edit", 0, "Please send exactly one photo."],
    ["edit", 2, "Please send exactly one photo."],
    ["retouch", 0, "Please send exactly one photo."],
    ["upscale", 2, "Please send exactly one photo."],
    ["add_text", 0, "Please send exactly one photo."],
    ["merge", 1, "Please send exactly two photos."],
    ["merge", 3, "Please send exactly two photos."],
    ["face_swap", 1, "Please send exactly two photos."],
  ];
  it.each(wrongCounts)("refuses %s with %i image(s)", (operation, count, message) => {
    const input = { ...valid[operation], images: Array.from({ length: count }, () => photo) };
    expect(refusal(input)).toEqual({ code: "invalid_input", kind: "terminal", userMessage: message });
  });

  it.each([
    ["generate", "Please describe the picture you want."],
    ["edit", "Please describe the change you want."],
    ["add_text", "Please send the text to put on the picture."],
  ] as const)("refuses %s without a prompt (blank counts as none)", (operation, message) => {
    expect(refusal({ ...valid[operation], prompt: "   " })).toMatchObject({
      code: "invalid_input",
      userMessage: message,
    });
  });

  it("lets retouch, upscale, merge and face_swap go without a prompt", () => {
    for (const operation of ["retouch", "upscale", "merge", "face_swap"] as const) {
      expect(() => validateGenerationInput({ ...valid[operation], prompt: "" })).not.toThrow();
    }
  });

  it("bounds the prompt, and add_text's overlay text more tightly", () => {
    expect(refusal({ ...valid.generate, prompt: "x".repeat(2001) })).toMatchObject({
      code: "invalid_input",
      userMessage: "Please keep the text under 2000 characters.",
    });
    expect(() => validateGenerationInput({ ...valid.generate, prompt: "x".repeat(2000) })).not.toThrow();
    expect(refusal({ ...valid.add_text, prompt: "x".repeat(201) })).toMatchObject({
      userMessage: "Please keep the text under 200 characters.",
    });
  });

  it("refuses images over 20 MB before looking inside them", () => {
    const big = new Uint8Array(20 * 1024 * 1024 + 1);
    big.set(pngHeaderOnly(10, 10));
    expect(refusal({ ...valid.edit, images: [png(big)] })).toMatchObject({
      code: "invalid_input",
      kind: "terminal",
      userMessage: "The photo is too large. Please send one under 20 MB.",
    });
  });

  it("refuses images over 4096 pixels on a side, from the header alone", () => {
    expect(refusal({ ...valid.upscale, images: [png(pngHeaderOnly(4097, 10))] })).toMatchObject({
      code: "invalid_input",
      userMessage: "The photo is too large. Please send one up to 4096×4096 pixels.",
    });
    expect(refusal({ ...valid.upscale, images: [png(pngHeaderOnly(10, 5000))] }).code).toBe("invalid_input");
    expect(() =>
      validateGenerationInput({ ...valid.upscale, images: [png(pngHeaderOnly(4096, 4096))] }),
    ).not.toThrow();
  });

  it("refuses bytes that are not PNG or JPEG whatever the declared type", () => {
    const gif = new TextEncoder().encode("GIF89a....");
    expect(refusal({ ...valid.edit, images: [{ bytes: gif, mimeType: "image/png" }] })).toMatchObject({
      code: "invalid_input",
      userMessage: "Please send the photo as JPEG or PNG.",
    });
    expect(
      refusal({ ...valid.edit, images: [{ bytes: new Uint8Array(0), mimeType: "image/png" }] }).code,
    ).toBe("invalid_input");
  });

  it("reads the real format from the bytes, not the declared mime type", () => {
    const jpegBytes = makeJpeg(33, 17, () => [1, 2, 3]);
    const [image] = validateGenerationInput({
      ...valid.edit,
      images: [{ bytes: jpegBytes, mimeType: "application/octet-stream" }],
    });
    expect(image).toMatchObject({ mimeType: "image/jpeg", width: 33, height: 17 });
  });

  it("refuses unknown operations, bad seeds and job ids", () => {
    expect(refusal({ ...valid.generate, operation: "paint" as Operation })).toMatchObject({
      code: "unsupported_operation",
      kind: "terminal",
    });
    expect(refusal({ ...valid.generate, seed: -1n }).code).toBe("invalid_input");
    expect(refusal({ ...valid.generate, seed: 1n << 64n }).code).toBe("invalid_input");
    expect(() => validateGenerationInput({ ...valid.generate, seed: (1n << 64n) - 1n })).not.toThrow();
    expect(refusal({ ...valid.generate, jobId: "" }).code).toBe("invalid_input");
  });
});

describe("readImageHeader", () => {
  it("reads PNG and JPEG sizes and refuses truncated headers", () => {
    expect(readImageHeader(solidPng(7, 5, [0, 0, 0]))).toEqual({
      mimeType: "image/png",
      width: 7,
      height: 5,
    });
    expect(readImageHeader(makeJpeg(31, 9, () => [9, 9, 9]))).toEqual({
      mimeType: "image/jpeg",
      width: 31,
      height: 9,
    });
    expect(readImageHeader(solidPng(7, 5, [0, 0, 0]).slice(0, 20))).toBeUndefined();
    expect(readImageHeader(makeJpeg(31, 9, () => [9, 9, 9]).slice(0, 30))).toBeUndefined();
    expect(readImageHeader(new Uint8Array([0xff, 0xd8, 0xff]))).toBeUndefined();
  });
});
