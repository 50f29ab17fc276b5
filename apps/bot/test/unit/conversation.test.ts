import { describe, expect, it } from "vitest";
import {
  applyInput,
  type InputLimits,
  parseEmail,
  parseRubles,
  startMode,
  type UserInput,
} from "../../src/flows/conversation.js";

const limits: InputLimits = {
  maxPhotoBytes: 10 * 1024 * 1024,
  promptMaxChars: 1000,
  overlayTextMaxChars: 200,
};
const photo = (id: string, sizeBytes?: number) => ({ fileId: id, sizeBytes });
const photos = (caption: string | undefined, ...items: ReturnType<typeof photo>[]): UserInput => ({
  kind: "photos",
  photos: items,
  caption,
});
const text = (value: string): UserInput => ({ kind: "text", text: value });

describe("collecting a mode's input", () => {
  it("generate needs one prompt: text is ready, a photo is refused", () => {
    expect(applyInput(startMode("generate"), text("  a red fox  "), limits)).toEqual({
      kind: "ready",
      operation: "generate",
      photos: [],
      text: "a red fox",
    });
    expect(applyInput(startMode("generate"), photos(undefined, photo("a")), limits)).toEqual({
      kind: "invalid",
      problem: { kind: "expectedText" },
    });
  });

  it("edit takes a photo then a prompt, or both at once with a caption", () => {
    const first = applyInput(startMode("edit"), photos(undefined, photo("a")), limits);
    expect(first).toMatchObject({ kind: "continue", ask: { kind: "text", operation: "edit" } });
    if (first.kind !== "continue") throw new Error("unreachable");
    expect(applyInput(first.conversation, text("make it blue"), limits)).toMatchObject({
      kind: "ready",
      photos: [photo("a")],
      text: "make it blue",
    });
    expect(applyInput(startMode("edit"), photos("make it blue", photo("a")), limits)).toMatchObject({
      kind: "ready",
      text: "make it blue",
    });
    // Text first is refused: the photo comes first.
    expect(applyInput(startMode("edit"), text("make it blue"), limits)).toEqual({
      kind: "invalid",
      problem: { kind: "expectedPhoto" },
    });
  });

  it("merge and face_swap take exactly two photos, one by one or as an album", () => {
    const first = applyInput(startMode("merge"), photos(undefined, photo("a")), limits);
    expect(first).toMatchObject({ kind: "continue", ask: { kind: "nextPhoto", received: 1, total: 2 } });
    if (first.kind !== "continue") throw new Error("unreachable");
    expect(applyInput(first.conversation, photos(undefined, photo("b")), limits)).toMatchObject({
      kind: "ready",
      photos: [photo("a"), photo("b")],
    });
    expect(
      applyInput(startMode("face_swap"), photos(undefined, photo("a"), photo("b")), limits),
    ).toMatchObject({
      kind: "ready",
    });
    expect(
      applyInput(startMode("merge"), photos(undefined, photo("a"), photo("b"), photo("c")), limits),
    ).toEqual({
      kind: "invalid",
      problem: { kind: "tooManyPhotos", expected: 2 },
    });
    expect(applyInput(first.conversation, photos(undefined, photo("b"), photo("c")), limits)).toEqual({
      kind: "invalid",
      problem: { kind: "tooManyPhotos", expected: 2 },
    });
  });

  it("retouch and upscale take one photo and no text", () => {
    expect(applyInput(startMode("retouch"), photos("ignored caption", photo("a")), limits)).toEqual({
      kind: "ready",
      operation: "retouch",
      photos: [photo("a")],
      text: "",
    });
    expect(applyInput(startMode("upscale"), text("hello"), limits)).toEqual({
      kind: "invalid",
      problem: { kind: "expectedPhoto" },
    });
    expect(applyInput(startMode("upscale"), photos(undefined, photo("a"), photo("b")), limits)).toEqual({
      kind: "invalid",
      problem: { kind: "tooManyPhotos", expected: 1 },
    });
  });

  it("refuses photos over the size limit, stickers and the like", () => {
    expect(
      applyInput(startMode("retouch"), photos(undefined, photo("a", limits.maxPhotoBytes + 1)), limits),
    ).toEqual({
      kind: "invalid",
      problem: { kind: "photoTooLarge", maxBytes: limits.maxPhotoBytes },
    });
    expect(
      applyInput(startMode("retouch"), photos(undefined, photo("a", limits.maxPhotoBytes)), limits).kind,
    ).toBe("ready");
    expect(applyInput(startMode("retouch"), { kind: "unsupported" }, limits)).toEqual({
      kind: "invalid",
      problem: { kind: "notAnImage" },
    });
  });

  it("refuses empty and too long prompts; add_text has the tighter overlay bound", () => {
    expect(applyInput(startMode("generate"), text("   "), limits)).toEqual({
      kind: "invalid",
      problem: { kind: "promptEmpty" },
    });
    expect(applyInput(startMode("generate"), text("x".repeat(1001)), limits)).toEqual({
      kind: "invalid",
      problem: { kind: "promptTooLong", maxChars: 1000 },
    });
    // Emoji count as one character each.
    expect(applyInput(startMode("generate"), text("🦊".repeat(1000)), limits).kind).toBe("ready");
    expect(applyInput(startMode("add_text"), photos("x".repeat(201), photo("a")), limits)).toEqual({
      kind: "invalid",
      problem: { kind: "promptTooLong", maxChars: 200 },
    });
    expect(applyInput(startMode("add_text"), photos("SALE", photo("a")), limits)).toMatchObject({
      kind: "ready",
      text: "SALE",
    });
  });
});

describe("custom top-up amount", () => {
  const bounds = { minMinor: 1_000n, maxMinor: 5_000_000n };

  it('refuses "5" and "abc", accepts "250"', () => {
    expect(parseRubles("5", bounds)).toEqual({ problem: "too_small" });
    expect(parseRubles("abc", bounds)).toEqual({ problem: "not_a_number" });
    expect(parseRubles("250", bounds)).toEqual({ amountMinor: 25_000n });
  });

  it("takes the minimum and the maximum, spaces and a ruble sign; refuses fractions and signs", () => {
    expect(parseRubles("10", bounds)).toEqual({ amountMinor: 1_000n });
    expect(parseRubles("50 000 ₽", bounds)).toEqual({ amountMinor: 5_000_000n });
    expect(parseRubles("50001", bounds)).toEqual({ problem: "too_large" });
    for (const bad of ["12.5", "12,5", "-30", "+30", "", "1e3", "9".repeat(12)]) {
      expect(parseRubles(bad, bounds)).toEqual({ problem: "not_a_number" });
    }
  });
});

describe("receipt email", () => {
  it("accepts plausible addresses only", () => {
    expect(parseEmail("  anna@example.com ")).toBe("anna@example.com");
    expect(parseEmail("anna@example")).toBeUndefined();
    expect(parseEmail("not an email")).toBeUndefined();
    expect(parseEmail(`${"a".repeat(65)}@example.com`)).toBeUndefined();
  });
});
