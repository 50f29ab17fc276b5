// RGBA rasters for the local provider: decode (bounded), encode, resample. Everything is integer
// RGBA in a Uint8Array, row-major, 4 bytes a pixel.
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { ProviderError } from "../errors.js";
import type { ValidatedImage } from "../validate.js";

export interface Raster {
  width: number;
  height: number;
  data: Uint8Array;
}

export function createRaster(width: number, height: number): Raster {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`raster: invalid size ${width}x${height}`);
  }
  return { width, height, data: new Uint8Array(width * height * 4) };
}

const UNREADABLE = "The photo could not be read. Please send it as JPEG or PNG.";

/**
 * Decodes a validated image. Its header was checked against the size limit already; the decoders
 * are bounded again in case the header lies about what follows.
 */
export function decodeImage(image: ValidatedImage, maxSide: number): Raster {
  let raster: Raster;
  try {
    if (image.mimeType === "image/png") {
      const png = PNG.sync.read(
        Buffer.from(image.bytes.buffer, image.bytes.byteOffset, image.bytes.byteLength),
      );
      raster = {
        width: png.width,
        height: png.height,
        data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength),
      };
    } else {
      const decoded = jpeg.decode(image.bytes, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: Math.ceil((maxSide * maxSide) / 1_000_000),
        maxMemoryUsageInMB: 1024,
      });
      raster = { width: decoded.width, height: decoded.height, data: decoded.data };
    }
  } catch (error) {
    throw new ProviderError("invalid_input", `local: cannot decode ${image.mimeType}: ${String(error)}`, {
      userMessage: UNREADABLE,
      cause: error,
    });
  }
  const consistent =
    raster.width === image.width &&
    raster.height === image.height &&
    raster.data.length === raster.width * raster.height * 4;
  if (!consistent) {
    throw new ProviderError("invalid_input", "local: decoded image does not match its header", {
      userMessage: UNREADABLE,
    });
  }
  return raster;
}

/** PNG, RGBA 8-bit, fixed deflate settings: the same raster always gives the same bytes. */
export function encodePng(raster: Raster): Uint8Array {
  const png = new PNG({ width: raster.width, height: raster.height });
  png.data = Buffer.from(raster.data.buffer, raster.data.byteOffset, raster.data.byteLength);
  const bytes = PNG.sync.write(png, { colorType: 6, inputColorType: 6, bitDepth: 8, deflateLevel: 6 });
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Bilinear sample at (x, y) in pixel-centre coordinates, clamped at the edges, into out[0..3]. */
export function sampleBilinear(src: Raster, x: number, y: number, out: Float64Array): void {
  const fx = Math.min(Math.max(x - 0.5, 0), src.width - 1);
  const fy = Math.min(Math.max(y - 0.5, 0), src.height - 1);
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(x0 + 1, src.width - 1);
  const y1 = Math.min(y0 + 1, src.height - 1);
  const tx = fx - x0;
  const ty = fy - y0;
  const d = src.data;
  const i00 = (y0 * src.width + x0) * 4;
  const i10 = (y0 * src.width + x1) * 4;
  const i01 = (y1 * src.width + x0) * 4;
  const i11 = (y1 * src.width + x1) * 4;
  for (let c = 0; c < 4; c += 1) {
    const top = (d[i00 + c] ?? 0) * (1 - tx) + (d[i10 + c] ?? 0) * tx;
    const bottom = (d[i01 + c] ?? 0) * (1 - tx) + (d[i11 + c] ?? 0) * tx;
    out[c] = top * (1 - ty) + bottom * ty;
  }
}

export function resizeBilinear(src: Raster, width: number, height: number): Raster {
  const dst = createRaster(width, height);
  const scaleX = src.width / width;
  const scaleY = src.height / height;
  const px = new Float64Array(4);
  let i = 0;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      sampleBilinear(src, (x + 0.5) * scaleX, (y + 0.5) * scaleY, px);
      dst.data[i] = Math.round(px[0] ?? 0);
      dst.data[i + 1] = Math.round(px[1] ?? 0);
      dst.data[i + 2] = Math.round(px[2] ?? 0);
      dst.data[i + 3] = Math.round(px[3] ?? 0);
      i += 4;
    }
  }
  return dst;
}

/** Blends colour (r, g, b) over pixel index i with opacity alpha in 0..1. */
export function blendPixel(dst: Raster, i: number, r: number, g: number, b: number, alpha: number): void {
  const d = dst.data;
  d[i] = Math.round((d[i] ?? 0) * (1 - alpha) + r * alpha);
  d[i + 1] = Math.round((d[i + 1] ?? 0) * (1 - alpha) + g * alpha);
  d[i + 2] = Math.round((d[i + 2] ?? 0) * (1 - alpha) + b * alpha);
  d[i + 3] = Math.max(d[i + 3] ?? 0, Math.round(255 * alpha));
}

export function clampByte(value: number): number {
  return value <= 0 ? 0 : value >= 255 ? 255 : Math.round(value);
}
