// The local provider's drawing: one pure function per operation, raster in, raster out. They are
// cheap stand-ins for the hosted models, chosen so each operation leaves a visible, testable trace.
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyphFor, glyphPixel } from "./font.js";
import { Prng } from "./prng.js";
import {
  blendPixel,
  clampByte,
  createRaster,
  resizeBilinear,
  sampleBilinear,
  type Raster,
} from "./raster.js";

type Rgb = [number, number, number];

function hsvToRgb(hue: number, saturation: number, value: number): Rgb {
  const h = (((hue % 360) + 360) % 360) / 60;
  const c = value * saturation;
  const x = c * (1 - Math.abs((h % 2) - 1));
  const m = value - c;
  const [r, g, b]: Rgb =
    h < 1
      ? [c, x, 0]
      : h < 2
        ? [x, c, 0]
        : h < 3
          ? [0, c, x]
          : h < 4
            ? [0, x, c]
            : h < 5
              ? [x, 0, c]
              : [c, 0, x];
  return [(r + m) * 255, (g + m) * 255, (b + m) * 255];
}

function randomColour(rng: Prng): Rgb {
  return hsvToRgb(rng.range(0, 360), rng.range(0.45, 0.95), rng.range(0.55, 1));
}

/** A gradient background with a handful of translucent circles and rectangles, all from the seed. */
export function drawGenerated(size: number, prompt: string, seed: bigint): Raster {
  const rng = new Prng("generate", prompt, seed);
  const out = createRaster(size, size);
  const [r1, g1, b1] = randomColour(rng);
  const [r2, g2, b2] = randomColour(rng);
  const angle = rng.range(0, Math.PI * 2);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const half = size / 2;
  const d = out.data;
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) {
      const t = Math.min(Math.max(((x - half) * cos + (y - half) * sin) / size + 0.5, 0), 1);
      const i = (y * size + x) * 4;
      d[i] = Math.round(r1 + (r2 - r1) * t);
      d[i + 1] = Math.round(g1 + (g2 - g1) * t);
      d[i + 2] = Math.round(b1 + (b2 - b1) * t);
      d[i + 3] = 255;
    }
  }
  const shapes = rng.int(4, 9);
  for (let s = 0; s < shapes; s += 1) {
    const [r, g, b] = randomColour(rng);
    const alpha = rng.range(0.35, 0.8);
    const cx = rng.range(0, size);
    const cy = rng.range(0, size);
    const extent = rng.range(size * 0.06, size * 0.3);
    if (rng.float() < 0.6) drawCircle(out, cx, cy, extent, [r, g, b], alpha);
    else drawRect(out, cx - extent, cy - extent * 0.6, extent * 2, extent * 1.2, [r, g, b], alpha);
  }
  return out;
}

function drawCircle(
  dst: Raster,
  cx: number,
  cy: number,
  radius: number,
  [r, g, b]: Rgb,
  alpha: number,
): void {
  const x0 = Math.max(0, Math.floor(cx - radius - 1));
  const x1 = Math.min(dst.width - 1, Math.ceil(cx + radius + 1));
  const y0 = Math.max(0, Math.floor(cy - radius - 1));
  const y1 = Math.min(dst.height - 1, Math.ceil(cy + radius + 1));
  for (let y = y0; y <= y1; y += 1) {
    for (let x = x0; x <= x1; x += 1) {
      // One pixel of anti-aliasing at the rim.
      const coverage = Math.min(Math.max(radius - Math.hypot(x + 0.5 - cx, y + 0.5 - cy) + 0.5, 0), 1);
      if (coverage > 0) blendPixel(dst, (y * dst.width + x) * 4, r, g, b, alpha * coverage);
    }
  }
}

function drawRect(
  dst: Raster,
  left: number,
  top: number,
  w: number,
  h: number,
  [r, g, b]: Rgb,
  alpha: number,
): void {
  const x0 = Math.max(0, Math.round(left));
  const x1 = Math.min(dst.width, Math.round(left + w));
  const y0 = Math.max(0, Math.round(top));
  const y1 = Math.min(dst.height, Math.round(top + h));
  for (let y = y0; y < y1; y += 1) {
    for (let x = x0; x < x1; x += 1) blendPixel(dst, (y * dst.width + x) * 4, r, g, b, alpha);
  }
}

type EditStyle = "grayscale" | "sepia" | "invert" | "recolour";

const STYLE_WORDS: readonly [EditStyle, RegExp][] = [
  ["grayscale", /gr[ae]y\s*scale|black and white|b&w|monochrome|ч[её]рно-?бел|ч\/б|монохром/iu],
  ["sepia", /sepia|vintage|сепи|винтаж|ретро/iu],
  ["invert", /invert|negative|негатив|инверт/iu],
];

export function editStyle(prompt: string): EditStyle {
  return STYLE_WORDS.find(([, words]) => words.test(prompt))?.[0] ?? "recolour";
}

/**
 * A colour transform chosen by the prompt: a few keywords pick a classic filter; anything else
 * rotates the hues by an angle and tints towards a colour, both derived from the prompt and seed.
 */
export function applyEdit(src: Raster, prompt: string, seed: bigint): Raster {
  const style = editStyle(prompt);
  const rng = new Prng("edit", prompt, seed);
  // Hue rotation as a 3×3 matrix (rotation about the grey axis); identity for the fixed filters.
  const angle = (rng.range(60, 300) * Math.PI) / 180;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const k = (1 - c) / 3;
  const q = Math.sqrt(1 / 3) * s;
  const m = [c + k, k - q, k + q, k + q, c + k, k - q, k - q, k + q, c + k] as const;
  const tint = randomColour(rng);
  const tintAmount = rng.range(0.1, 0.25);
  const out = createRaster(src.width, src.height);
  const a = src.data;
  const d = out.data;
  for (let i = 0; i < a.length; i += 4) {
    const r = a[i] ?? 0;
    const g = a[i + 1] ?? 0;
    const b = a[i + 2] ?? 0;
    let nr: number;
    let ng: number;
    let nb: number;
    if (style === "grayscale") {
      nr = ng = nb = 0.299 * r + 0.587 * g + 0.114 * b;
    } else if (style === "sepia") {
      nr = 0.393 * r + 0.769 * g + 0.189 * b;
      ng = 0.349 * r + 0.686 * g + 0.168 * b;
      nb = 0.272 * r + 0.534 * g + 0.131 * b;
    } else if (style === "invert") {
      nr = 255 - r;
      ng = 255 - g;
      nb = 255 - b;
    } else {
      nr = (m[0] * r + m[1] * g + m[2] * b) * (1 - tintAmount) + tint[0] * tintAmount;
      ng = (m[3] * r + m[4] * g + m[5] * b) * (1 - tintAmount) + tint[1] * tintAmount;
      nb = (m[6] * r + m[7] * g + m[8] * b) * (1 - tintAmount) + tint[2] * tintAmount;
    }
    d[i] = clampByte(nr);
    d[i + 1] = clampByte(ng);
    d[i + 2] = clampByte(nb);
    d[i + 3] = a[i + 3] ?? 255;
  }
  return out;
}

/**
 * Side by side at a common height, cross-faded over a band where they meet, scaled down so the
 * result stays within maxSide.
 */
export function mergeSideBySide(left: Raster, right: Raster, maxSide: number): Raster {
  let height = Math.min(Math.max(left.height, right.height), maxSide);
  let leftWidth = Math.max(1, Math.round((left.width * height) / left.height));
  let rightWidth = Math.max(1, Math.round((right.width * height) / right.height));
  let overlap = Math.floor(Math.min(leftWidth, rightWidth) * 0.15);
  let total = leftWidth + rightWidth - overlap;
  if (total > maxSide) {
    const factor = maxSide / total;
    height = Math.max(1, Math.floor(height * factor));
    leftWidth = Math.max(1, Math.floor(leftWidth * factor));
    rightWidth = Math.max(1, Math.floor(rightWidth * factor));
    overlap = Math.floor(Math.min(leftWidth, rightWidth) * 0.15);
    total = leftWidth + rightWidth - overlap;
  }
  const a = resizeBilinear(left, leftWidth, height);
  const b = resizeBilinear(right, rightWidth, height);
  const out = createRaster(total, height);
  const start = leftWidth - overlap;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < total; x += 1) {
      const o = (y * total + x) * 4;
      const inA = x < leftWidth;
      const inB = x >= start;
      const ia = (y * leftWidth + Math.min(x, leftWidth - 1)) * 4;
      const ib = (y * rightWidth + Math.max(0, x - start)) * 4;
      // Weight of the right image: 0 left of the band, 1 right of it, linear inside.
      const w = !inB ? 0 : !inA ? 1 : (x - start + 0.5) / overlap;
      for (let ch = 0; ch < 4; ch += 1) {
        out.data[o + ch] = Math.round((a.data[ia + ch] ?? 0) * (1 - w) + (b.data[ib + ch] ?? 0) * w);
      }
    }
  }
  return out;
}

/**
 * The centre ellipse of `face` (where a portrait's face usually is) scaled onto the centre ellipse
 * of `base`, blended through a feathered mask so no seam shows.
 */
export function swapCentre(base: Raster, face: Raster): Raster {
  const out: Raster = { width: base.width, height: base.height, data: new Uint8Array(base.data) };
  const rx = base.width * 0.25;
  const ry = base.height * 0.32;
  const cx = base.width / 2;
  const cy = base.height / 2;
  const frx = face.width * 0.25;
  const fry = face.height * 0.32;
  const fcx = face.width / 2;
  const fcy = face.height / 2;
  const feather = 0.3;
  const px = new Float64Array(4);
  const y0 = Math.max(0, Math.floor(cy - ry));
  const y1 = Math.min(base.height - 1, Math.ceil(cy + ry));
  const x0 = Math.max(0, Math.floor(cx - rx));
  const x1 = Math.min(base.width - 1, Math.ceil(cx + rx));
  for (let y = y0; y <= y1; y += 1) {
    for (let x = x0; x <= x1; x += 1) {
      const u = (x + 0.5 - cx) / rx;
      const v = (y + 0.5 - cy) / ry;
      const distance = Math.hypot(u, v);
      if (distance >= 1) continue;
      // 1 inside (1 - feather), falling smoothly to 0 at the rim.
      const t = Math.min(Math.max((1 - distance) / feather, 0), 1);
      const mask = t * t * (3 - 2 * t);
      sampleBilinear(face, fcx + u * frx, fcy + v * fry, px);
      const i = (y * base.width + x) * 4;
      for (let ch = 0; ch < 3; ch += 1) {
        out.data[i + ch] = Math.round((base.data[i + ch] ?? 0) * (1 - mask) + (px[ch] ?? 0) * mask);
      }
    }
  }
  return out;
}

/**
 * Skin-style smoothing: a box blur mixed in where the picture is flat and held back at edges, so
 * noise goes and outlines stay.
 */
export function smooth(src: Raster): Raster {
  const radius = Math.min(Math.max(Math.round(Math.min(src.width, src.height) / 200), 1), 6);
  const blurred = boxBlur(src, radius);
  const out = createRaster(src.width, src.height);
  const a = src.data;
  const b = blurred.data;
  for (let i = 0; i < a.length; i += 4) {
    const difference =
      Math.abs((a[i] ?? 0) - (b[i] ?? 0)) +
      Math.abs((a[i + 1] ?? 0) - (b[i + 1] ?? 0)) +
      Math.abs((a[i + 2] ?? 0) - (b[i + 2] ?? 0));
    const weight = 0.85 * (1 - Math.min(difference / 240, 1));
    for (let ch = 0; ch < 3; ch += 1) {
      out.data[i + ch] = Math.round((a[i + ch] ?? 0) * (1 - weight) + (b[i + ch] ?? 0) * weight);
    }
    out.data[i + 3] = a[i + 3] ?? 255;
  }
  return out;
}

/**
 * Separable box blur with running sums: O(pixels) whatever the radius. The intermediate pass is
 * rounded to bytes so a 4096² picture needs 64 MB, not half a gigabyte of doubles.
 */
function boxBlur(src: Raster, radius: number): Raster {
  const { width, height } = src;
  const horizontal = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y += 1) {
    for (let ch = 0; ch < 4; ch += 1) {
      let sum = 0;
      for (let x = -radius; x <= radius; x += 1) sum += src.data[(y * width + clamp(x, width)) * 4 + ch] ?? 0;
      for (let x = 0; x < width; x += 1) {
        horizontal[(y * width + x) * 4 + ch] = Math.round(sum / (2 * radius + 1));
        sum +=
          (src.data[(y * width + clamp(x + radius + 1, width)) * 4 + ch] ?? 0) -
          (src.data[(y * width + clamp(x - radius, width)) * 4 + ch] ?? 0);
      }
    }
  }
  const out = createRaster(width, height);
  for (let x = 0; x < width; x += 1) {
    for (let ch = 0; ch < 4; ch += 1) {
      let sum = 0;
      for (let y = -radius; y <= radius; y += 1)
        sum += horizontal[(clamp(y, height) * width + x) * 4 + ch] ?? 0;
      for (let y = 0; y < height; y += 1) {
        out.data[(y * width + x) * 4 + ch] = Math.round(sum / (2 * radius + 1));
        sum +=
          (horizontal[(clamp(y + radius + 1, height) * width + x) * 4 + ch] ?? 0) -
          (horizontal[(clamp(y - radius, height) * width + x) * 4 + ch] ?? 0);
      }
    }
  }
  return out;
}

function clamp(index: number, length: number): number {
  return index < 0 ? 0 : index >= length ? length - 1 : index;
}

/** 2× bilinear, or less when 2× would pass maxSide (never smaller than the input). */
export function upscale(src: Raster, maxSide: number): Raster {
  const factor = Math.max(1, Math.min(2, maxSide / Math.max(src.width, src.height)));
  return resizeBilinear(src, Math.round(src.width * factor), Math.round(src.height * factor));
}

const MAX_TEXT_LINES = 12;

/** Word-wraps text into lines of at most `perLine` characters, breaking words longer than a line. */
export function wrapText(text: string, perLine: number, maxLines: number): string[] {
  const words = text
    .normalize("NFC")
    .split(/\s+/u)
    .filter((word) => word.length > 0);
  const lines: string[] = [];
  let current: string[] = [];
  const push = (): void => {
    if (current.length > 0) lines.push(current.join(""));
    current = [];
  };
  for (const word of words) {
    let chars = Array.from(word);
    while (chars.length > 0) {
      const needsSpace = current.length > 0;
      const room = perLine - current.length - (needsSpace ? 1 : 0);
      if (chars.length <= room) {
        if (needsSpace) current.push(" ");
        current.push(...chars);
        chars = [];
      } else if (current.length > 0) {
        push();
      } else {
        current.push(...chars.slice(0, perLine));
        chars = chars.slice(perLine);
        push();
      }
    }
  }
  push();
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  const last = Array.from(kept[maxLines - 1] ?? "").slice(0, Math.max(0, perLine - 1));
  kept[maxLines - 1] = `${last.join("")}…`;
  return kept;
}

/**
 * The text in white with a dark shadow on a translucent band, wrapped and centred near the bottom.
 * Glyphs are scaled by an integer factor that follows the picture's size.
 */
export function drawText(src: Raster, text: string): Raster {
  const out: Raster = { width: src.width, height: src.height, data: new Uint8Array(src.data) };
  const scale = Math.max(1, Math.floor(Math.min(src.width, src.height) / 128));
  const advance = (GLYPH_WIDTH + 1) * scale;
  const lineHeight = (GLYPH_HEIGHT + 2) * scale;
  const margin = Math.max(2, Math.round(src.width * 0.04));
  const perLine = Math.max(1, Math.floor((src.width - 2 * margin + scale) / advance));
  // The text stays in the bottom half, so the subject of the picture stays visible.
  const maxLines = Math.min(
    MAX_TEXT_LINES,
    Math.max(1, Math.floor((src.height * 0.5 - margin) / lineHeight)),
  );
  const lines = wrapText(text, perLine, maxLines);
  const blockHeight = lines.length * lineHeight;
  const top = Math.max(0, src.height - margin - blockHeight);
  // The band keeps the text readable on any background.
  const bandTop = Math.max(0, top - scale * 2);
  const bandBottom = Math.min(src.height, top + blockHeight + scale);
  for (let y = bandTop; y < bandBottom; y += 1) {
    for (let x = 0; x < src.width; x += 1) blendPixel(out, (y * src.width + x) * 4, 0, 0, 0, 0.55);
  }
  lines.forEach((line, row) => {
    const chars = Array.from(line);
    const lineWidth = chars.length * advance - scale;
    const left = Math.round((src.width - lineWidth) / 2);
    const baseY = top + row * lineHeight + scale;
    chars.forEach((char, column) => {
      const glyph = glyphFor(char);
      const glyphX = left + column * advance;
      for (const [dx, dy, value] of [
        [scale, scale, 0],
        [0, 0, 255],
      ] as const) {
        for (let gy = 0; gy < GLYPH_HEIGHT; gy += 1) {
          for (let gx = 0; gx < GLYPH_WIDTH; gx += 1) {
            if (glyphPixel(glyph, gx, gy)) {
              fillBlock(out, glyphX + gx * scale + dx, baseY + gy * scale + dy, scale, value);
            }
          }
        }
      }
    });
  });
  return out;
}

function fillBlock(dst: Raster, left: number, top: number, size: number, value: number): void {
  for (let y = Math.max(0, top); y < Math.min(dst.height, top + size); y += 1) {
    for (let x = Math.max(0, left); x < Math.min(dst.width, left + size); x += 1) {
      const i = (y * dst.width + x) * 4;
      dst.data[i] = value;
      dst.data[i + 1] = value;
      dst.data[i + 2] = value;
      dst.data[i + 3] = 255;
    }
  }
}
