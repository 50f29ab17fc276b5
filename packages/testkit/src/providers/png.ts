// A minimal PNG encoder (RGBA 8-bit, no filtering) so the fakes can serve real images without an
// image library. Output decodes with any PNG reader; it is not meant to be small.
import { crc32, deflateSync } from "node:zlib";

export type Rgba = readonly [number, number, number, number];

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const MAX_SIDE = 4096;

/** Encodes a width×height picture whose pixel (x, y) is `pixel(x, y)`. */
export function encodeTestPng(
  width: number,
  height: number,
  pixel: (x: number, y: number) => Rgba,
): Uint8Array {
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    width > MAX_SIDE ||
    height > MAX_SIDE
  ) {
    throw new Error(`encodeTestPng: invalid size ${width}x${height}`);
  }
  // Each scanline starts with its filter type (0 = none).
  const raw = Buffer.alloc((width * 4 + 1) * height);
  let offset = 0;
  for (let y = 0; y < height; y += 1) {
    raw[offset] = 0;
    offset += 1;
    for (let x = 0; x < width; x += 1) {
      const [r, g, b, a] = pixel(x, y);
      raw[offset] = r;
      raw[offset + 1] = g;
      raw[offset + 2] = b;
      raw[offset + 3] = a;
      offset += 4;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type RGBA
  header[10] = 0; // deflate
  header[11] = 0; // adaptive filtering
  header[12] = 0; // no interlace
  const png = Buffer.concat([
    SIGNATURE,
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length, 0);
  const typeAndData = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData) >>> 0, 0);
  return Buffer.concat([length, typeAndData, crc]);
}

/** A small gradient picture: the default output of the provider fakes. */
export function sampleOutputPng(width = 64, height = 48): Uint8Array {
  return encodeTestPng(width, height, (x, y) => [
    Math.round((x / Math.max(1, width - 1)) * 255),
    Math.round((y / Math.max(1, height - 1)) * 255),
    128,
    255,
  ]);
}

/** Splits a base64 `data:` URI (as the fal adapter sends images) into its type and bytes. */
export function decodeDataUri(uri: string): { mimeType: string; bytes: Uint8Array } {
  const match = /^data:([^;,]*)(;[^,]*)?,(.*)$/s.exec(uri);
  if (match === null || !(match[2] ?? "").includes("base64"))
    throw new Error("decodeDataUri: not a base64 data URI");
  const bytes = Buffer.from(match[3] ?? "", "base64");
  return {
    mimeType: match[1] ?? "",
    bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  };
}
