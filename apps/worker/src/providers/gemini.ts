// Google's Gemini image models through the Gemini API (generateContent). One request per job: the
// image comes back inline, so there is no queue to poll. Blocked prompts and blocked outputs arrive
// as HTTP 200 with a block or finish reason, and must be read as refusals, not as empty successes.
import { ProviderError, toProviderError } from "./errors.js";
import { checkedOutput, instructionFor, isRecord, seedToInt32 } from "./hosted.js";
import { errorForStatus, httpRequest, parseJsonBody, parseRetryAfterMs, type HttpResponse } from "./http.js";
import type { GeneratedImage, GenerationInput, ImageProvider } from "./types.js";
import { DEFAULT_INPUT_LIMITS, validateGenerationInput, type InputLimits } from "./validate.js";

const PROVIDER = "gemini";

export const DEFAULT_GEMINI_MODEL = "gemini-2.5-flash-image";

export interface GeminiConfig {
  apiKey: string;
  /** Default https://generativelanguage.googleapis.com; tests point it at the fake. */
  baseUrl?: string;
  model?: string;
  /** Bound on the one generateContent call; image models often need tens of seconds. */
  requestTimeoutMs?: number;
  /** Bound on the JSON answer, which carries the image as base64. */
  maxResponseBytes?: number;
  maxOutputSide?: number;
  inputLimits?: InputLimits;
}

/** Finish reasons that mean the output was withheld by a policy, not that generation broke. */
const REFUSAL_FINISH_REASONS = new Set([
  "SAFETY",
  "IMAGE_SAFETY",
  "PROHIBITED_CONTENT",
  "IMAGE_PROHIBITED_CONTENT",
  "BLOCKLIST",
  "SPII",
  "RECITATION",
  "IMAGE_RECITATION",
]);

export class GeminiProvider implements ImageProvider {
  readonly name = PROVIDER;
  readonly #apiKey: string;
  readonly #url: string;
  readonly #requestTimeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #maxOutputSide: number;
  readonly #limits: InputLimits;

  constructor(config: GeminiConfig) {
    if (config.apiKey.length === 0) throw new Error("gemini: apiKey is empty");
    const model = config.model ?? DEFAULT_GEMINI_MODEL;
    if (!/^[\w.-]+$/.test(model)) throw new Error(`gemini: invalid model name ${JSON.stringify(model)}`);
    const baseUrl = (config.baseUrl ?? "https://generativelanguage.googleapis.com").replace(/\/+$/, "");
    this.#apiKey = config.apiKey;
    this.#url = `${baseUrl}/v1beta/models/${model}:generateContent`;
    this.#requestTimeoutMs = config.requestTimeoutMs ?? 120_000;
    this.#maxResponseBytes = config.maxResponseBytes ?? 64 * 1024 * 1024;
    this.#maxOutputSide = config.maxOutputSide ?? 8192;
    this.#limits = config.inputLimits ?? DEFAULT_INPUT_LIMITS;
  }

  async generate(job: GenerationInput, signal: AbortSignal): Promise<GeneratedImage> {
    try {
      const images = validateGenerationInput(job, this.#limits);
      const parts: unknown[] = [{ text: instructionFor(job.operation, job.prompt) }];
      for (const image of images) {
        const data = Buffer.from(image.bytes.buffer, image.bytes.byteOffset, image.bytes.byteLength).toString(
          "base64",
        );
        parts.push({ inline_data: { mime_type: image.mimeType, data } });
      }
      const body = {
        contents: [{ role: "user", parts }],
        generationConfig: { responseModalities: ["TEXT", "IMAGE"], seed: seedToInt32(job.seed) },
      };
      const response = await httpRequest(
        PROVIDER,
        {
          url: this.#url,
          method: "POST",
          headers: {
            "x-goog-api-key": this.#apiKey,
            "content-type": "application/json",
            accept: "application/json",
          },
          body: JSON.stringify(body),
          timeoutMs: this.#requestTimeoutMs,
          maxResponseBytes: this.#maxResponseBytes,
        },
        signal,
      );
      if (response.status < 200 || response.status > 299) throw geminiError(response);
      return checkedOutput(
        PROVIDER,
        imageFrom(parseJsonBody(response, PROVIDER, "response")),
        this.#maxOutputSide,
      );
    } catch (error) {
      throw toProviderError(error, PROVIDER);
    }
  }
}

function imageFrom(body: unknown): Uint8Array {
  if (!isRecord(body))
    throw new ProviderError("bad_response", "gemini: response is not an object", { provider: PROVIDER });
  const feedback = body["promptFeedback"];
  if (isRecord(feedback) && typeof feedback["blockReason"] === "string") {
    throw new ProviderError("content_rejected", `gemini: prompt blocked (${feedback["blockReason"]})`, {
      provider: PROVIDER,
    });
  }
  const candidates = body["candidates"];
  const candidate: unknown = Array.isArray(candidates) ? candidates[0] : undefined;
  if (!isRecord(candidate))
    throw new ProviderError("bad_response", "gemini: response has no candidate", { provider: PROVIDER });
  const finishReason = typeof candidate["finishReason"] === "string" ? candidate["finishReason"] : "";
  if (REFUSAL_FINISH_REASONS.has(finishReason)) {
    throw new ProviderError("content_rejected", `gemini: output withheld (${finishReason})`, {
      provider: PROVIDER,
    });
  }
  const content = candidate["content"];
  const parts: unknown = isRecord(content) ? content["parts"] : undefined;
  const texts: string[] = [];
  for (const part of (Array.isArray(parts) ? parts : []) as unknown[]) {
    if (!isRecord(part)) continue;
    if (typeof part["text"] === "string") texts.push(part["text"]);
    // Thinking models may send draft images first; only the final one is the answer.
    if (part["thought"] === true) continue;
    // REST answers in camelCase; accept the proto's snake_case too.
    const inline = part["inlineData"] ?? part["inline_data"];
    if (!isRecord(inline)) continue;
    const mimeType = inline["mimeType"] ?? inline["mime_type"];
    const data = inline["data"];
    if (typeof mimeType === "string" && mimeType.startsWith("image/") && typeof data === "string") {
      return new Uint8Array(Buffer.from(data, "base64"));
    }
  }
  // A text-only answer is the model declining or failing to draw; retrying the same input rarely helps.
  throw new ProviderError(
    "no_image",
    `gemini: no image in response (finishReason ${finishReason || "none"}): ${texts.join(" ").slice(0, 200)}`,
    { provider: PROVIDER },
  );
}

/** Google's error body: `{error: {code, message, status, details: [{"@type", reason | retryDelay}]}}`. */
function geminiError(response: HttpResponse): ProviderError {
  let body: unknown;
  try {
    body = parseJsonBody(response, PROVIDER, "error response");
  } catch {
    body = undefined;
  }
  const error = isRecord(body) && isRecord(body["error"]) ? body["error"] : {};
  const status = typeof error["status"] === "string" ? error["status"] : "";
  const message = typeof error["message"] === "string" ? error["message"] : "";
  const details = Array.isArray(error["details"]) ? error["details"].filter(isRecord) : [];
  const reasons = details.flatMap((detail) =>
    typeof detail["reason"] === "string" ? [detail["reason"]] : [],
  );
  const retryDelay = details.find((detail) => typeof detail["retryDelay"] === "string")?.["retryDelay"];
  const retryAfterMs =
    parseRetryAfterMs(response.headers.get("retry-after")) ??
    (typeof retryDelay === "string" ? parseDurationMs(retryDelay) : undefined);
  const summary = `${status || "HTTP"} ${response.status}: ${message.slice(0, 300)}`;
  const options = { provider: PROVIDER, httpStatus: response.status };

  // An invalid key is a 400 INVALID_ARGUMENT, but it is our configuration, not the user's input.
  if (reasons.includes("API_KEY_INVALID") || status === "UNAUTHENTICATED" || status === "PERMISSION_DENIED") {
    return new ProviderError("misconfigured", `gemini: ${summary} (check the API key)`, options);
  }
  if (response.status === 429 || status === "RESOURCE_EXHAUSTED") {
    return new ProviderError(
      "rate_limited",
      `gemini: ${summary}`,
      retryAfterMs === undefined ? options : { ...options, retryAfterMs },
    );
  }
  // FAILED_PRECONDITION: e.g. the free tier is unavailable in the caller's region; a setup issue.
  if (status === "FAILED_PRECONDITION" || status === "NOT_FOUND") {
    return new ProviderError("misconfigured", `gemini: ${summary}`, options);
  }
  if (status === "DEADLINE_EXCEEDED") return new ProviderError("timeout", `gemini: ${summary}`, options);
  return errorForStatus(PROVIDER, response.status, `gemini: ${summary}`, retryAfterMs);
}

/** protobuf Duration JSON ("17s", "0.5s") to milliseconds. */
function parseDurationMs(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return match?.[1] === undefined ? undefined : Math.round(Number(match[1]) * 1000);
}
