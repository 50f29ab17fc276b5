// The contract between the worker and whatever draws the picture. Every provider (local, fal, gemini)
// takes the same input and returns the same output, so the worker never branches on the provider.

import type { Operation } from "@billing/events";

export { isOperation, OPERATIONS, type Operation } from "@billing/events";

export type OutputMimeType = "image/png" | "image/jpeg";

export interface InputImage {
  bytes: Uint8Array;
  /** As declared by the sender; validation checks it against the bytes' signature. */
  mimeType: string;
}

export interface GenerationInput {
  jobId: string;
  operation: Operation;
  prompt: string;
  images: InputImage[];
  /** Unsigned 64-bit; providers that take a smaller seed fold it (see seedToInt32). */
  seed: bigint;
}

export interface GeneratedImage {
  bytes: Uint8Array;
  mimeType: OutputMimeType;
  width: number;
  height: number;
}

export interface ImageProvider {
  readonly name: string;
  /**
   * Runs one generation. Rejects only with a ProviderError. Aborting `signal` stops the work and
   * rejects with a transient `timeout` (signal reason is a TimeoutError) or `aborted` error.
   */
  generate(job: GenerationInput, signal: AbortSignal): Promise<GeneratedImage>;
}
