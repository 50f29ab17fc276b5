import { describe, expect, it } from "vitest";
import { LocalProvider, OPERATIONS, type GenerationInput } from "../../src/providers/index.js";
import {
  colourDistance,
  decodePng,
  job,
  makeJpeg,
  makePng,
  never,
  pixelAt,
  png,
  pngHeaderOnly,
  providerError,
  solidPng,
  type Decoded,
} from "./fixtures.js";

const RED = [220, 30, 30] as const;
const BLUE = [20, 40, 210] as const;
const GREY = [128, 128, 128] as const;

const provider = new LocalProvider();

async function run(
  input: GenerationInput,
  local: LocalProvider = provider,
): Promise<Decoded & { bytes: Uint8Array }> {
  const result = await local.generate(input, never());
  expect(result.mimeType).toBe("image/png");
  const decoded = decodePng(result.bytes);
  expect({ width: decoded.width, height: decoded.height }).toEqual({
    width: result.width,
    height: result.height,
  });
  return { ...decoded, bytes: result.bytes };
}

/** A photo-like test picture: smooth gradient plus fixed pseudo-random noise. */
function noisyPng(width: number, height: number): Uint8Array {
  let state = 12345;
  const noise = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state % 61) - 30;
  };
  return makePng(width, height, (x, y) => {
    const n = noise();
    const clamp = (v: number): number => Math.max(0, Math.min(255, v));
    return [clamp(100 + x + n), clamp(80 + y + n), clamp(140 + n)];
  });
}

function distinctColours(image: Decoded): number {
  const seen = new Set<number>();
  for (let i = 0; i < image.data.length; i += 4) {
    seen.add((image.data[i]! << 16) | (image.data[i + 1]! << 8) | image.data[i + 2]!);
  }
  return seen.size;
}

/** Mean absolute difference between horizontal neighbours: high for noise, low for smooth areas. */
function roughness(image: Decoded): number {
  let total = 0;
  let count = 0;
  for (let y = 0; y < image.height; y += 1) {
    for (let x = 1; x < image.width; x += 1) {
      const a = pixelAt(image, x - 1, y);
      const b = pixelAt(image, x, y);
      total += Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]);
      count += 1;
    }
  }
  return total / count;
}

describe("local provider", () => {
  it("generate: a 512×512 picture, byte-identical for the same prompt and seed, different otherwise", async () => {
    const first = await run(job("generate", { prompt: "a red fox at dawn", seed: 7n }));
    expect({ width: first.width, height: first.height }).toEqual({ width: 512, height: 512 });
    expect(distinctColours(first)).toBeGreaterThan(50);
    const again = await run(job("generate", { prompt: "a red fox at dawn", seed: 7n, jobId: "other" }));
    expect(Buffer.from(again.bytes).equals(Buffer.from(first.bytes))).toBe(true);
    const otherSeed = await run(job("generate", { prompt: "a red fox at dawn", seed: 8n }));
    const otherPrompt = await run(job("generate", { prompt: "a blue whale", seed: 7n }));
    expect(Buffer.from(otherSeed.bytes).equals(Buffer.from(first.bytes))).toBe(false);
    expect(Buffer.from(otherPrompt.bytes).equals(Buffer.from(first.bytes))).toBe(false);
  });

  it("edit: recolours the input, same size, deterministic per seed", async () => {
    const input = png(noisyPng(40, 30));
    const original = decodePng(input.bytes);
    const edited = await run(job("edit", { prompt: "make it dreamy", images: [input], seed: 1n }));
    expect({ width: edited.width, height: edited.height }).toEqual({ width: 40, height: 30 });
    expect(colourDistance(pixelAt(edited, 20, 15), pixelAt(original, 20, 15))).toBeGreaterThan(20);
    const same = await run(job("edit", { prompt: "make it dreamy", images: [input], seed: 1n }));
    const otherSeed = await run(job("edit", { prompt: "make it dreamy", images: [input], seed: 2n }));
    expect(Buffer.from(same.bytes).equals(Buffer.from(edited.bytes))).toBe(true);
    expect(Buffer.from(otherSeed.bytes).equals(Buffer.from(edited.bytes))).toBe(false);
  });

  it("edit: keywords pick classic filters (black and white → every pixel grey)", async () => {
    const grey = await run(job("edit", { prompt: "Сделай чёрно-белым", images: [png(noisyPng(20, 20))] }));
    for (let i = 0; i < grey.data.length; i += 4) {
      expect(grey.data[i]).toBe(grey.data[i + 1]);
      expect(grey.data[i + 1]).toBe(grey.data[i + 2]);
    }
    const inverted = await run(job("edit", { prompt: "invert", images: [png(solidPng(4, 4, RED))] }));
    expect(pixelAt(inverted, 1, 1)).toEqual([255 - RED[0], 255 - RED[1], 255 - RED[2]]);
  });

  it("edit accepts JPEG input", async () => {
    const jpeg = { bytes: makeJpeg(24, 16, () => GREY), mimeType: "image/jpeg" };
    const edited = await run(job("edit", { prompt: "sepia", images: [jpeg] }));
    expect({ width: edited.width, height: edited.height }).toEqual({ width: 24, height: 16 });
    const [r, g, b] = pixelAt(edited, 12, 8);
    expect(r).toBeGreaterThan(g);
    expect(g).toBeGreaterThan(b);
  });

  it("merge: both inputs side by side at a common height, blended where they meet", async () => {
    const merged = await run(
      job("merge", { images: [png(solidPng(100, 80, RED)), png(solidPng(60, 40, BLUE))] }),
    );
    // The right image is scaled to height 80 (width 120); a 15% band of the narrower one overlaps.
    expect({ width: merged.width, height: merged.height }).toEqual({ width: 100 + 120 - 15, height: 80 });
    expect(colourDistance(pixelAt(merged, 5, 40), RED)).toBeLessThanOrEqual(1);
    expect(colourDistance(pixelAt(merged, merged.width - 5, 40), BLUE)).toBeLessThanOrEqual(1);
    const seam = pixelAt(merged, 92, 40);
    expect(colourDistance(seam, RED)).toBeGreaterThan(30);
    expect(colourDistance(seam, BLUE)).toBeGreaterThan(30);
  });

  it("face_swap: the second image's centre lands on the first, feathered, the rest untouched", async () => {
    const swapped = await run(
      job("face_swap", { images: [png(solidPng(100, 100, RED)), png(solidPng(50, 70, BLUE))] }),
    );
    expect({ width: swapped.width, height: swapped.height }).toEqual({ width: 100, height: 100 });
    expect(colourDistance(pixelAt(swapped, 50, 50), BLUE)).toBeLessThanOrEqual(1);
    expect(pixelAt(swapped, 2, 2)).toEqual(RED);
    expect(pixelAt(swapped, 97, 97)).toEqual(RED);
    // Near the rim of the ellipse (rx = 25): a mix of both, not a hard edge.
    const rim = pixelAt(swapped, 50 + 22, 50);
    expect(colourDistance(rim, RED)).toBeGreaterThan(20);
    expect(colourDistance(rim, BLUE)).toBeGreaterThan(20);
  });

  it("retouch: same size, noise smoothed away", async () => {
    const input = png(noisyPng(80, 60));
    const retouched = await run(job("retouch", { images: [input] }));
    expect({ width: retouched.width, height: retouched.height }).toEqual({ width: 80, height: 60 });
    expect(roughness(retouched)).toBeLessThan(roughness(decodePng(input.bytes)) * 0.5);
  });

  it("upscale: doubles both sides, keeping the picture", async () => {
    const input = makePng(40, 30, (x) => (x < 20 ? RED : BLUE));
    const upscaled = await run(job("upscale", { images: [png(input)] }));
    expect({ width: upscaled.width, height: upscaled.height }).toEqual({ width: 80, height: 60 });
    expect(pixelAt(upscaled, 10, 30)).toEqual(RED);
    expect(pixelAt(upscaled, 70, 30)).toEqual(BLUE);
  });

  it("upscale: stops at the output bound instead of passing it", async () => {
    const bounded = new LocalProvider({ maxOutputSide: 300 });
    const upscaled = await run(job("upscale", { images: [png(solidPng(200, 10, GREY))] }), bounded);
    expect({ width: upscaled.width, height: upscaled.height }).toEqual({ width: 300, height: 15 });
  });

  it("add_text: draws the text near the bottom and leaves the top alone", async () => {
    const input = png(solidPng(256, 256, GREY));
    const withText = await run(job("add_text", { prompt: "Привет, мир! Hello, world", images: [input] }));
    expect({ width: withText.width, height: withText.height }).toEqual({ width: 256, height: 256 });
    let whiteBelow = 0;
    let changedAbove = 0;
    for (let y = 0; y < 256; y += 1) {
      for (let x = 0; x < 256; x += 1) {
        const colour = pixelAt(withText, x, y);
        if (y < 128 && colourDistance(colour, GREY) > 0) changedAbove += 1;
        if (y >= 192 && colour[0] === 255 && colour[1] === 255 && colour[2] === 255) whiteBelow += 1;
      }
    }
    expect(changedAbove).toBe(0);
    expect(whiteBelow).toBeGreaterThan(200);
    const other = await run(job("add_text", { prompt: "Пока", images: [input] }));
    expect(Buffer.from(other.bytes).equals(Buffer.from(withText.bytes))).toBe(false);
  });

  it("add_text: long text wraps onto several lines and still fits", async () => {
    const input = png(solidPng(128, 128, GREY));
    const long = "слово ".repeat(30).trim();
    const withText = await run(job("add_text", { prompt: long, images: [input] }));
    const rowsWithWhite = new Set<number>();
    for (let y = 0; y < 128; y += 1) {
      for (let x = 0; x < 128; x += 1) if (pixelAt(withText, x, y)[0] === 255) rowsWithWhite.add(y);
    }
    // At scale 1 a line is 9 px tall with 7 px of glyph: several lines mean well over 7 rows.
    expect(rowsWithWhite.size).toBeGreaterThan(20);
    expect(Math.min(...rowsWithWhite)).toBeGreaterThanOrEqual(64);
  });

  it("every operation is byte-identical for the same input and seed", async () => {
    const a = png(noisyPng(30, 20));
    const b = png(solidPng(20, 30, BLUE));
    const inputs: Record<(typeof OPERATIONS)[number], GenerationInput> = {
      generate: job("generate", { prompt: "p" }),
      edit: job("edit", { prompt: "p", images: [a] }),
      merge: job("merge", { images: [a, b] }),
      face_swap: job("face_swap", { images: [a, b] }),
      retouch: job("retouch", { images: [a] }),
      upscale: job("upscale", { images: [a] }),
      add_text: job("add_text", { prompt: "p", images: [a] }),
    };
    for (const operation of OPERATIONS) {
      const first = await provider.generate(inputs[operation], never());
      const second = await provider.generate(inputs[operation], never());
      expect(Buffer.from(second.bytes).equals(Buffer.from(first.bytes)), operation).toBe(true);
    }
  });

  it("refuses oversized or unreadable images with a terminal invalid_input", async () => {
    const huge = await providerError(
      provider.generate(job("upscale", { images: [png(pngHeaderOnly(5000, 5000))] }), never()),
    );
    expect(huge).toMatchObject({ code: "invalid_input", kind: "terminal" });
    // A valid header followed by garbage: refused by the decoder, not a crash.
    const broken = solidPng(10, 10, RED).slice(0, 40);
    const unreadable = await providerError(
      provider.generate(job("retouch", { images: [png(broken)] }), never()),
    );
    expect(unreadable).toMatchObject({ code: "invalid_input", kind: "terminal" });
    expect(unreadable.userMessage).toContain("could not be read");
  });

  it("zeroWork answers a fixed small PNG after validating", async () => {
    const fast = new LocalProvider({ zeroWork: true });
    const result = await run(job("upscale", { images: [png(solidPng(1000, 1000, GREY))] }), fast);
    expect({ width: result.width, height: result.height }).toEqual({ width: 8, height: 8 });
    const refused = await providerError(fast.generate(job("merge", { images: [] }), never()));
    expect(refused.code).toBe("invalid_input");
  });

  it("delayMs is cut short by the job's deadline: a transient timeout", async () => {
    const slow = new LocalProvider({ delayMs: 10_000 });
    const started = Date.now();
    const error = await providerError(
      slow.generate(job("generate", { prompt: "p" }), AbortSignal.timeout(50)),
    );
    expect(error).toMatchObject({ code: "timeout", kind: "transient" });
    expect(Date.now() - started).toBeLessThan(2000);
    const cancelled = new AbortController();
    cancelled.abort();
    expect(
      (await providerError(slow.generate(job("generate", { prompt: "p" }), cancelled.signal))).code,
    ).toBe("aborted");
  });

  it("failNext scripts failures in order, then works again", async () => {
    const local = new LocalProvider();
    local.failNext("transient");
    local.failNext({ code: "rate_limited", retryAfterMs: 2000 });
    local.failNext("terminal", 2);
    expect(local.pendingFaults).toBe(4);
    const input = job("generate", { prompt: "p" });
    expect(await providerError(local.generate(input, never()))).toMatchObject({
      code: "provider_unavailable",
      kind: "transient",
    });
    expect(await providerError(local.generate(input, never()))).toMatchObject({
      code: "rate_limited",
      retryAfterMs: 2000,
    });
    expect(await providerError(local.generate(input, never()))).toMatchObject({
      code: "content_rejected",
      kind: "terminal",
    });
    expect(await providerError(local.generate(input, never()))).toMatchObject({ code: "content_rejected" });
    await expect(local.generate(input, never())).resolves.toMatchObject({ width: 512, height: 512 });
  });

  it('failNext("hang") holds the call until the job is aborted', async () => {
    const local = new LocalProvider();
    local.failNext("hang");
    const controller = new AbortController();
    const pending = providerError(local.generate(job("generate", { prompt: "p" }), controller.signal));
    setTimeout(() => controller.abort(), 30);
    expect(await pending).toMatchObject({ code: "aborted", kind: "transient" });
    local.failNext("hang");
    local.clearFaults();
    await expect(local.generate(job("generate", { prompt: "p" }), never())).resolves.toMatchObject({
      width: 512,
    });
  });
});
