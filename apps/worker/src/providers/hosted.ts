// What the hosted adapters (fal, gemini) share: how an operation is put to an instruction-following
// model, how a 64-bit seed is folded, and how a returned image is checked before it is trusted.
import { ProviderError } from "./errors.js";
import { readImageHeader } from "./image-header.js";
import type { GeneratedImage, Operation } from "./types.js";

/**
 * The instruction sent for an operation. The user's prompt is appended as written; for add_text it
 * is the text itself, quoted so the model draws it rather than obeys it.
 */
export function instructionFor(operation: Operation, prompt: string): string {
  const extra = prompt.trim();
  const withExtra = (base: string): string => (extra.length === 0 ? base : `${base} ${extra}`);
  switch (operation) {
    case "generate":
    case "edit":
      return extra;
    case "merge":
      return withExtra("Combine the two images into one coherent picture.");
    case "face_swap":
      return withExtra(
        "Replace the face of the person in the first image with the face of the person in the second image. Keep the pose, lighting, hair and background of the first image.",
      );
    case "retouch":
      return withExtra(
        "Retouch this photo naturally: even out the skin, remove blemishes and noise, keep the person's identity and the composition.",
      );
    case "upscale":
      return withExtra(
        "Upscale this image to twice its resolution, restoring fine detail without changing the content.",
      );
    case "add_text":
      return `Add the following text to the image, legible, centred near the bottom, without changing anything else: ${JSON.stringify(extra)}`;
  }
}

/** Seeds for hosted models are signed 32-bit at most; the low 31 bits keep them positive and stable. */
export function seedToInt32(seed: bigint): number {
  return Number(BigInt.asUintN(31, seed));
}

export function toDataUri(bytes: Uint8Array, mimeType: string): string {
  return `data:${mimeType};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")}`;
}

/** Decodes a base64 `data:` URI; undefined when it is not one. */
export function fromDataUri(uri: string): Uint8Array | undefined {
  const match = /^data:[^;,]*(;[^,]*)?,/.exec(uri);
  if (match === null || !(match[1] ?? "").includes("base64")) return undefined;
  return new Uint8Array(Buffer.from(uri.slice(match[0].length), "base64"));
}

/**
 * A provider's output is only handed on if its bytes really are a PNG or JPEG: the format and size
 * come from the bytes, not from what the provider claims.
 */
export function checkedOutput(provider: string, bytes: Uint8Array, maxSide: number): GeneratedImage {
  const header = readImageHeader(bytes);
  if (header === undefined) {
    throw new ProviderError(
      "bad_response",
      `${provider}: returned image is not a PNG or JPEG (${bytes.length} bytes)`,
      {
        provider,
      },
    );
  }
  if (header.width > maxSide || header.height > maxSide) {
    throw new ProviderError(
      "bad_response",
      `${provider}: returned image is ${header.width}x${header.height}, limit ${maxSide} per side`,
      { provider },
    );
  }
  return { bytes, mimeType: header.mimeType, width: header.width, height: header.height };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
