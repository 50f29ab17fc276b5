// One validation for every provider: the same job is accepted or refused the same way whichever
// provider is configured, and a refusal is a terminal error with a message the user can act on.
import { ProviderError } from "./errors.js";
import { readImageHeader, type ImageHeader } from "./image-header.js";
import { isOperation, type GenerationInput, type Operation } from "./types.js";

export interface InputLimits {
  maxImageBytes: number;
  /** Longest side in pixels, checked from the header before any decoding. */
  maxImageSide: number;
  maxPromptChars: number;
  /** add_text draws the prompt onto the picture, so it gets a tighter bound. */
  maxOverlayTextChars: number;
}

export const DEFAULT_INPUT_LIMITS: InputLimits = {
  maxImageBytes: 20 * 1024 * 1024,
  maxImageSide: 4096,
  maxPromptChars: 2000,
  maxOverlayTextChars: 200,
};

const MAX_JOB_ID_CHARS = 200;
const MAX_SEED = (1n << 64n) - 1n;

type PromptRule = "required" | "optional";

interface Requirement {
  images: number;
  prompt: PromptRule;
  missingPrompt: string;
}

/** What each operation needs. The prompt of add_text is the text to draw. */
export const OPERATION_REQUIREMENTS: Readonly<Record<Operation, Requirement>> = {
  generate: { images: 0, prompt: "required", missingPrompt: "Please describe the picture you want." },
  edit: { images: 1, prompt: "required", missingPrompt: "Please describe the change you want." },
  merge: { images: 2, prompt: "optional", missingPrompt: "" },
  face_swap: { images: 2, prompt: "optional", missingPrompt: "" },
  retouch: { images: 1, prompt: "optional", missingPrompt: "" },
  upscale: { images: 1, prompt: "optional", missingPrompt: "" },
  add_text: { images: 1, prompt: "required", missingPrompt: "Please send the text to put on the picture." },
};

export interface ValidatedImage extends ImageHeader {
  bytes: Uint8Array;
}

function invalid(message: string, userMessage: string): ProviderError {
  return new ProviderError("invalid_input", message, { userMessage });
}

/**
 * Checks a job against its operation's requirements and the size limits. Returns the input images
 * with their format and size read from the bytes (the declared mime type is not trusted: chat clients
 * label files loosely). Throws a terminal ProviderError (`invalid_input`, `unsupported_operation`).
 */
export function validateGenerationInput(
  job: GenerationInput,
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
): ValidatedImage[] {
  if (!isOperation(job.operation)) {
    throw new ProviderError("unsupported_operation", `unknown operation ${JSON.stringify(job.operation)}`);
  }
  if (job.jobId.length === 0 || job.jobId.length > MAX_JOB_ID_CHARS) {
    throw new ProviderError("invalid_input", `jobId must have 1..${MAX_JOB_ID_CHARS} characters`);
  }
  if (job.seed < 0n || job.seed > MAX_SEED) {
    throw new ProviderError("invalid_input", `seed ${job.seed} is outside the unsigned 64-bit range`);
  }

  const requirement = OPERATION_REQUIREMENTS[job.operation];
  const maxChars = job.operation === "add_text" ? limits.maxOverlayTextChars : limits.maxPromptChars;
  if (job.prompt.length > maxChars) {
    throw invalid(
      `prompt has ${job.prompt.length} characters, limit ${maxChars}`,
      `Please keep the text under ${maxChars} characters.`,
    );
  }
  if (requirement.prompt === "required" && job.prompt.trim().length === 0) {
    throw invalid(`${job.operation} needs a prompt`, requirement.missingPrompt);
  }

  if (job.images.length !== requirement.images) {
    throw invalid(
      `${job.operation} takes ${requirement.images} image(s), got ${job.images.length}`,
      imageCountMessage(requirement.images),
    );
  }

  return job.images.map((image, index) => {
    if (image.bytes.length === 0) {
      throw invalid(`image ${index} is empty`, "Please send the photo as JPEG or PNG.");
    }
    if (image.bytes.length > limits.maxImageBytes) {
      const limitMb = Math.floor(limits.maxImageBytes / (1024 * 1024));
      throw invalid(
        `image ${index} has ${image.bytes.length} bytes, limit ${limits.maxImageBytes}`,
        `The photo is too large. Please send one under ${limitMb} MB.`,
      );
    }
    const header = readImageHeader(image.bytes);
    if (header === undefined) {
      throw invalid(
        `image ${index} (declared ${image.mimeType}) is not a PNG or JPEG`,
        "Please send the photo as JPEG or PNG.",
      );
    }
    if (header.width > limits.maxImageSide || header.height > limits.maxImageSide) {
      throw invalid(
        `image ${index} is ${header.width}x${header.height}, limit ${limits.maxImageSide} per side`,
        `The photo is too large. Please send one up to ${limits.maxImageSide}×${limits.maxImageSide} pixels.`,
      );
    }
    return { ...header, bytes: image.bytes };
  });
}

function imageCountMessage(count: number): string {
  if (count === 0) return "This mode makes a picture from text only. Please send no photos.";
  if (count === 1) return "Please send exactly one photo.";
  return "Please send exactly two photos.";
}
