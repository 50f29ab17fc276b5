// Test pictures and jobs for the provider tests. Inputs are made with the same libraries the worker
// depends on (pngjs, jpeg-js), outputs are decoded with them, so assertions are about pixels.
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { expect } from "vitest";
import { ProviderError, type GenerationInput, type Operation } from "../../src/providers/index.js";

export type Rgb = readonly [number, number, number];

export interface Decoded {
  width: number;
  height: number;
  data: Uint8Array;
}

export function makePng(width: number, height: number, pixel: (x: number, y: number) => Rgb): Uint8Array {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const [r, g, b] = pixel(x, y);
      const i = (y * width + x) * 4;
      png.data[i] = r;
      png.data[i + 1] = g;
      png.data[i + 2] = b;
      png.data[i + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(png));
}

export function solidPng(width: number, height: number, colour: Rgb): Uint8Array {
  return makePng(width, height, () => colour);
}

export function makeJpeg(width: number, height: number, pixel: (x: number, y: number) => Rgb): Uint8Array {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const [r, g, b] = pixel(x, y);
      data.set([r, g, b, 255], (y * width + x) * 4);
    }
  }
  return new Uint8Array(jpeg.encode({ data, width, height }, 90).data);
}

/** A PNG that is only a signature and an IHDR claiming the given size: enough for header checks. */
export function pngHeaderOnly(width: number, height: number): Uint8Array {
  const bytes = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes, 0);
  bytes.writeUInt32BE(13, 8);
  bytes.write("IHDR", 12, "ascii");
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  bytes[24] = 8;
  bytes[25] = 6;
  return new Uint8Array(bytes);
}

export function decodePng(bytes: Uint8Array): Decoded {
  const png = PNG.sync.read(Buffer.from(bytes));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
}

export function pixelAt(image: Decoded, x: number, y: number): Rgb {
  const i = (y * image.width + x) * 4;
  return [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
}

/** Largest channel difference between two colours. */
export function colourDistance(a: Rgb, b: Rgb): number {
  return Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), Math.abs(a[2] - b[2]));
}

export function job(operation: Operation, overrides: Partial<GenerationInput> = {}): GenerationInput {
  return { jobId: `job-${operation}`, operation, prompt: "", images: [], seed: 42n, ...overrides };
}

export function png(bytes: Uint8Array): { bytes: Uint8Array; mimeType: string } {
  return { bytes, mimeType: "image/png" };
}

/** Runs `action` and returns the ProviderError it rejects with (failing the test otherwise). */
export async function providerError(action: Promise<unknown>): Promise<ProviderError> {
  const error: unknown = await action.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

export function never(): AbortSignal {
  return new AbortController().signal;
}
