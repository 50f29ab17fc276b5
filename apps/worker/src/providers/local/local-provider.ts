// The offline provider: a real picture for every operation, byte-identical for the same input and
// seed, no network. It serves development, end-to-end tests and benchmarks (zeroWork / delayMs), and
// lets tests script failures with failNext().
import { abortError, ProviderError, toProviderError, type ProviderErrorCode } from "../errors.js";
import { sleep } from "../sleep.js";
import type { GeneratedImage, GenerationInput, ImageProvider } from "../types.js";
import {
  DEFAULT_INPUT_LIMITS,
  validateGenerationInput,
  type InputLimits,
  type ValidatedImage,
} from "../validate.js";
import {
  applyEdit,
  drawGenerated,
  drawText,
  mergeSideBySide,
  smooth,
  swapCentre,
  upscale,
} from "./operations.js";
import { createRaster, decodeImage, encodePng, type Raster } from "./raster.js";

const PROVIDER = "local";

export interface LocalProviderOptions {
  /** Waits this long (abortably) before working, to stand in for a hosted provider's latency. */
  delayMs?: number;
  /** Skips decoding and drawing and answers a fixed 8×8 PNG after validation: measures the pipeline, not the pixels. */
  zeroWork?: boolean;
  /** Side of the square picture made by `generate`. */
  generateSize?: number;
  /** Bound on any output side (upscale and merge shrink to fit). */
  maxOutputSide?: number;
  inputLimits?: InputLimits;
}

/**
 * A scripted failure for the next call: a kind ("transient" → provider_unavailable, "terminal" →
 * content_rejected), a specific code, or "hang" (never answers until the job's signal aborts).
 */
export type LocalFault =
  "transient" | "terminal" | "hang" | { code: ProviderErrorCode; retryAfterMs?: number };

const MAX_QUEUED_FAULTS = 1000;

export class LocalProvider implements ImageProvider {
  readonly name = PROVIDER;
  readonly #delayMs: number;
  readonly #zeroWork: boolean;
  readonly #generateSize: number;
  readonly #maxOutputSide: number;
  readonly #limits: InputLimits;
  readonly #faults: LocalFault[] = [];
  #zeroWorkImage: GeneratedImage | undefined;

  constructor(options: LocalProviderOptions = {}) {
    this.#delayMs = Math.max(0, options.delayMs ?? 0);
    this.#zeroWork = options.zeroWork ?? false;
    this.#maxOutputSide = options.maxOutputSide ?? 4096;
    this.#generateSize = options.generateSize ?? Math.min(512, this.#maxOutputSide);
    this.#limits = options.inputLimits ?? DEFAULT_INPUT_LIMITS;
    if (
      !Number.isInteger(this.#generateSize) ||
      this.#generateSize < 1 ||
      this.#generateSize > this.#maxOutputSide
    ) {
      throw new Error(`local: generateSize must be an integer in 1..${this.#maxOutputSide}`);
    }
  }

  /** Makes the next `times` calls fail with `fault`, in order after any faults already queued. */
  failNext(fault: LocalFault, times = 1): void {
    if (!Number.isInteger(times) || times < 1 || this.#faults.length + times > MAX_QUEUED_FAULTS) {
      throw new Error(`local: failNext times must be 1..${MAX_QUEUED_FAULTS - this.#faults.length}`);
    }
    for (let i = 0; i < times; i += 1) this.#faults.push(fault);
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  get pendingFaults(): number {
    return this.#faults.length;
  }

  async generate(job: GenerationInput, signal: AbortSignal): Promise<GeneratedImage> {
    try {
      const fault = this.#faults.shift();
      if (fault !== undefined) await injected(fault, signal);
      const images = validateGenerationInput(job, this.#limits);
      if (this.#delayMs > 0) await sleep(this.#delayMs, signal, PROVIDER);
      checkSignal(signal);
      if (this.#zeroWork) return this.#fixedImage();
      const rasters = images.map((image) => decodeImage(image, this.#limits.maxImageSide));
      checkSignal(signal);
      const raster = this.#draw(job, images, rasters);
      checkSignal(signal);
      return { bytes: encodePng(raster), mimeType: "image/png", width: raster.width, height: raster.height };
    } catch (error) {
      throw toProviderError(error, PROVIDER);
    }
  }

  #draw(job: GenerationInput, images: readonly ValidatedImage[], rasters: readonly Raster[]): Raster {
    const first = (): Raster => required(rasters[0], images.length);
    const second = (): Raster => required(rasters[1], images.length);
    switch (job.operation) {
      case "generate":
        return drawGenerated(this.#generateSize, job.prompt, job.seed);
      case "edit":
        return applyEdit(first(), job.prompt, job.seed);
      case "merge":
        return mergeSideBySide(first(), second(), this.#maxOutputSide);
      case "face_swap":
        return swapCentre(first(), second());
      case "retouch":
        return smooth(first());
      case "upscale":
        return upscale(first(), this.#maxOutputSide);
      case "add_text":
        return drawText(first(), job.prompt);
    }
  }

  #fixedImage(): GeneratedImage {
    if (this.#zeroWorkImage === undefined) {
      const raster = createRaster(8, 8);
      raster.data.fill(128);
      this.#zeroWorkImage = { bytes: encodePng(raster), mimeType: "image/png", width: 8, height: 8 };
    }
    // A copy: callers may own and mutate what they receive.
    return { ...this.#zeroWorkImage, bytes: new Uint8Array(this.#zeroWorkImage.bytes) };
  }
}

function required(raster: Raster | undefined, count: number): Raster {
  // Validation guarantees the count per operation; reaching this is a bug, not bad input.
  if (raster === undefined) throw new Error(`local: operation needs more images than the ${count} validated`);
  return raster;
}

function checkSignal(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal, PROVIDER);
}

async function injected(fault: LocalFault, signal: AbortSignal): Promise<never> {
  if (fault === "hang") {
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    throw abortError(signal, PROVIDER);
  }
  const code: ProviderErrorCode =
    fault === "transient" ? "provider_unavailable" : fault === "terminal" ? "content_rejected" : fault.code;
  const options =
    typeof fault === "object" && fault.retryAfterMs !== undefined
      ? { provider: PROVIDER, retryAfterMs: fault.retryAfterMs }
      : { provider: PROVIDER };
  throw new ProviderError(code, `local: injected ${code}`, options);
}
