// fal.ai through its queue API: submit, poll the status until COMPLETED, read the result, download
// the image. Submitting is not idempotent (each submit is billed), so a failed submit is never
// repeated here; only the idempotent status polls tolerate a few passing faults.
import { ProviderError, toProviderError } from "./errors.js";
import { sleep } from "./sleep.js";
import { checkedOutput, fromDataUri, instructionFor, isRecord, seedToInt32, toDataUri } from "./hosted.js";
import { errorForStatus, httpRequest, parseJsonBody, parseRetryAfterMs, type HttpResponse } from "./http.js";
import type { GeneratedImage, GenerationInput, ImageProvider, Operation } from "./types.js";
import {
  DEFAULT_INPUT_LIMITS,
  OPERATION_REQUIREMENTS,
  validateGenerationInput,
  type InputLimits,
} from "./validate.js";

const PROVIDER = "fal";

export interface FalRoute {
  /** Model id as in `POST https://queue.fal.run/{model}`, e.g. "fal-ai/flux/dev". */
  model: string;
  /**
   * Where the input images go, as data URIs: all of them as a list under one field
   * (`{ list: "image_urls" }`), or image i under field i (`{ fields: ["image_url"] }`).
   */
  images?: { list: string } | { fields: readonly string[] };
  /** Field for the instruction text; null when the model takes none (plain upscalers). */
  promptField?: string | null;
  /** Field for the 31-bit seed; null when the model takes none. */
  seedField?: string | null;
  /** Fixed input fields merged into every request for this route. */
  extraInput?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * Defaults: FLUX.1 [dev] for text-to-image, Nano Banana's edit endpoint (an instruction-following
 * multi-image editor) for the image operations, ESRGAN for upscaling. Check them against fal's model
 * pages before production; every one can be replaced through `routes`.
 */
export const DEFAULT_FAL_ROUTES: Readonly<Record<Operation, FalRoute>> = {
  generate: { model: "fal-ai/flux/dev", extraInput: { num_images: 1, output_format: "png" } },
  edit: editRoute(),
  merge: editRoute(),
  face_swap: editRoute(),
  retouch: editRoute(),
  add_text: editRoute(),
  upscale: {
    model: "fal-ai/esrgan",
    images: { fields: ["image_url"] },
    promptField: null,
    seedField: null,
    extraInput: { scale: 2 },
  },
};

function editRoute(): FalRoute {
  return {
    model: "fal-ai/nano-banana/edit",
    images: { list: "image_urls" },
    seedField: null,
    extraInput: { num_images: 1, output_format: "png" },
  };
}

export interface FalConfig {
  apiKey: string;
  /** Default https://queue.fal.run; tests point it at the fake. */
  baseUrl?: string;
  routes?: Partial<Record<Operation, FalRoute>>;
  /** Bound on each HTTP request (submit, one poll, result, download). */
  requestTimeoutMs?: number;
  pollIntervalMs?: number;
  /** Bound on status polls per job; past it the job fails with a transient timeout. */
  maxPolls?: number;
  /** Passing faults tolerated in a row while polling (polls are idempotent; submits are not). */
  maxConsecutivePollErrors?: number;
  maxImageBytes?: number;
  maxOutputSide?: number;
  inputLimits?: InputLimits;
}

interface QueueHandle {
  requestId: string;
  statusUrl: string;
  responseUrl: string;
  cancelUrl: string;
}

const JSON_LIMIT_BYTES = 1024 * 1024;
const CANCEL_TIMEOUT_MS = 5_000;

export class FalProvider implements ImageProvider {
  readonly name = PROVIDER;
  readonly #apiKey: string;
  readonly #baseUrl: string;
  readonly #origin: string;
  readonly #routes: Readonly<Record<Operation, FalRoute>>;
  readonly #requestTimeoutMs: number;
  readonly #pollIntervalMs: number;
  readonly #maxPolls: number;
  readonly #maxPollErrors: number;
  readonly #maxImageBytes: number;
  readonly #maxOutputSide: number;
  readonly #limits: InputLimits;

  constructor(config: FalConfig) {
    if (config.apiKey.length === 0) throw new Error("fal: apiKey is empty");
    this.#apiKey = config.apiKey;
    this.#baseUrl = (config.baseUrl ?? "https://queue.fal.run").replace(/\/+$/, "");
    this.#origin = new URL(this.#baseUrl).origin;
    this.#routes = { ...DEFAULT_FAL_ROUTES, ...config.routes };
    this.#requestTimeoutMs = positive(config.requestTimeoutMs ?? 30_000, "requestTimeoutMs");
    this.#pollIntervalMs = positive(config.pollIntervalMs ?? 1_000, "pollIntervalMs");
    this.#maxPolls = positive(config.maxPolls ?? 300, "maxPolls");
    this.#maxPollErrors = Math.max(0, Math.floor(config.maxConsecutivePollErrors ?? 3));
    this.#maxImageBytes = positive(config.maxImageBytes ?? 50 * 1024 * 1024, "maxImageBytes");
    this.#maxOutputSide = positive(config.maxOutputSide ?? 8192, "maxOutputSide");
    this.#limits = config.inputLimits ?? DEFAULT_INPUT_LIMITS;
    for (const [operation, route] of Object.entries(this.#routes) as [Operation, FalRoute][]) {
      checkRoute(operation, route);
    }
  }

  async generate(job: GenerationInput, signal: AbortSignal): Promise<GeneratedImage> {
    try {
      const images = validateGenerationInput(job, this.#limits);
      const route = this.#routes[job.operation];
      const input = buildInput(job, images, route);
      const handle = await this.#submit(route.model, input, signal);
      try {
        await this.#waitUntilCompleted(handle, signal);
      } catch (error) {
        // Stop paying for work nobody will collect.
        this.#cancelQuietly(handle);
        throw error;
      }
      const result = await this.#result(handle, signal);
      const bytes = await this.#download(result, signal);
      return checkedOutput(PROVIDER, bytes, this.#maxOutputSide);
    } catch (error) {
      throw toProviderError(error, PROVIDER);
    }
  }

  #headers(): Record<string, string> {
    return { authorization: `Key ${this.#apiKey}`, accept: "application/json" };
  }

  async #submit(model: string, input: Record<string, unknown>, signal: AbortSignal): Promise<QueueHandle> {
    const response = await httpRequest(
      PROVIDER,
      {
        url: `${this.#baseUrl}/${model}`,
        method: "POST",
        headers: { ...this.#headers(), "content-type": "application/json" },
        body: JSON.stringify(input),
        timeoutMs: this.#requestTimeoutMs,
        maxResponseBytes: JSON_LIMIT_BYTES,
      },
      signal,
    );
    if (response.status < 200 || response.status > 299) throw falError(response, "submit");
    const body = parseJsonBody(response, PROVIDER, "submit response");
    if (
      !isRecord(body) ||
      typeof body["request_id"] !== "string" ||
      typeof body["status_url"] !== "string" ||
      typeof body["response_url"] !== "string"
    ) {
      throw new ProviderError(
        "bad_response",
        "fal: submit response lacks request_id/status_url/response_url",
        {
          provider: PROVIDER,
        },
      );
    }
    const responseUrl = this.#sameOrigin(body["response_url"]);
    const cancelUrl = typeof body["cancel_url"] === "string" ? body["cancel_url"] : `${responseUrl}/cancel`;
    return {
      requestId: body["request_id"],
      statusUrl: this.#sameOrigin(body["status_url"]),
      responseUrl,
      cancelUrl: this.#sameOrigin(cancelUrl),
    };
  }

  /** The key is only ever sent to the configured origin, whatever URL a response names. */
  #sameOrigin(url: string): string {
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      origin = "";
    }
    if (origin !== this.#origin) {
      throw new ProviderError("bad_response", `fal: queue URL outside ${this.#origin}`, {
        provider: PROVIDER,
      });
    }
    return url;
  }

  async #waitUntilCompleted(handle: QueueHandle, signal: AbortSignal): Promise<void> {
    let consecutiveErrors = 0;
    for (let poll = 1; poll <= this.#maxPolls; poll += 1) {
      let status: string;
      try {
        status = await this.#status(handle, signal);
        consecutiveErrors = 0;
      } catch (error) {
        const retryable =
          error instanceof ProviderError &&
          error.transient &&
          !signal.aborted &&
          consecutiveErrors < this.#maxPollErrors;
        if (!retryable) throw error;
        consecutiveErrors += 1;
        await sleep(Math.max(this.#pollIntervalMs, error.retryAfterMs ?? 0), signal, PROVIDER);
        continue;
      }
      if (status === "COMPLETED") return;
      // IN_QUEUE, IN_PROGRESS, or a state added later: keep waiting, within the poll bound.
      await sleep(this.#pollIntervalMs, signal, PROVIDER);
    }
    throw new ProviderError(
      "timeout",
      `fal: request ${handle.requestId} not completed after ${this.#maxPolls} polls`,
      {
        provider: PROVIDER,
      },
    );
  }

  async #status(handle: QueueHandle, signal: AbortSignal): Promise<string> {
    const response = await httpRequest(
      PROVIDER,
      {
        url: handle.statusUrl,
        method: "GET",
        headers: this.#headers(),
        timeoutMs: this.#requestTimeoutMs,
        maxResponseBytes: JSON_LIMIT_BYTES,
      },
      signal,
    );
    if (response.status < 200 || response.status > 299) throw falError(response, "status");
    const body = parseJsonBody(response, PROVIDER, "status response");
    if (!isRecord(body) || typeof body["status"] !== "string") {
      throw new ProviderError("bad_response", "fal: status response lacks status", { provider: PROVIDER });
    }
    return body["status"];
  }

  async #result(handle: QueueHandle, signal: AbortSignal): Promise<string> {
    const response = await httpRequest(
      PROVIDER,
      {
        url: handle.responseUrl,
        method: "GET",
        headers: this.#headers(),
        timeoutMs: this.#requestTimeoutMs,
        maxResponseBytes: JSON_LIMIT_BYTES,
      },
      signal,
    );
    if (response.status < 200 || response.status > 299) throw falError(response, "result");
    const body = parseJsonBody(response, PROVIDER, "result");
    if (!isRecord(body))
      throw new ProviderError("bad_response", "fal: result is not an object", { provider: PROVIDER });
    const flagged = body["has_nsfw_concepts"];
    if (Array.isArray(flagged) && flagged.some((value) => value === true)) {
      // The safety checker blanks flagged images; handing on a black square would be wrong.
      throw new ProviderError("content_rejected", "fal: output flagged by the safety checker", {
        provider: PROVIDER,
      });
    }
    // Generators answer `images: [...]`, upscalers `image: {...}`.
    const images = body["images"];
    const first: unknown = Array.isArray(images) ? images[0] : body["image"];
    if (first === undefined && Array.isArray(images)) {
      throw new ProviderError("no_image", "fal: result has no images", { provider: PROVIDER });
    }
    if (!isRecord(first) || typeof first["url"] !== "string") {
      throw new ProviderError("bad_response", "fal: result has no image url", { provider: PROVIDER });
    }
    return first["url"];
  }

  async #download(url: string, signal: AbortSignal): Promise<Uint8Array> {
    const inline = fromDataUri(url);
    if (inline !== undefined) {
      if (inline.length > this.#maxImageBytes) {
        throw new ProviderError("bad_response", "fal: inline image over the size bound", {
          provider: PROVIDER,
        });
      }
      return inline;
    }
    if (!/^https?:\/\//i.test(url)) {
      throw new ProviderError("bad_response", "fal: image url is neither http(s) nor data:", {
        provider: PROVIDER,
      });
    }
    // Files live on a CDN: no key goes with this request.
    const response = await httpRequest(
      PROVIDER,
      {
        url,
        method: "GET",
        timeoutMs: this.#requestTimeoutMs,
        maxResponseBytes: this.#maxImageBytes,
        redirect: "follow",
      },
      signal,
    );
    if (response.status < 200 || response.status > 299) {
      const retryAfterMs = parseRetryAfterMs(response.headers.get("retry-after"));
      if (response.status === 429 || response.status >= 500) {
        throw errorForStatus(
          PROVIDER,
          response.status,
          `fal: image download HTTP ${response.status}`,
          retryAfterMs,
        );
      }
      throw new ProviderError("bad_response", `fal: image download answered HTTP ${response.status}`, {
        provider: PROVIDER,
        httpStatus: response.status,
      });
    }
    return response.body;
  }

  #cancelQuietly(handle: QueueHandle): void {
    const request = httpRequest(
      PROVIDER,
      {
        url: handle.cancelUrl,
        method: "PUT",
        headers: this.#headers(),
        timeoutMs: CANCEL_TIMEOUT_MS,
        maxResponseBytes: JSON_LIMIT_BYTES,
      },
      new AbortController().signal,
    );
    // Best effort: the job has already failed, a failed cancel changes nothing.
    request.catch(() => undefined);
  }
}

function buildInput(
  job: GenerationInput,
  images: readonly { bytes: Uint8Array; mimeType: string }[],
  route: FalRoute,
): Record<string, unknown> {
  const input: Record<string, unknown> = { ...route.extraInput };
  const promptField = route.promptField === undefined ? "prompt" : route.promptField;
  if (promptField !== null) input[promptField] = instructionFor(job.operation, job.prompt);
  const seedField = route.seedField === undefined ? "seed" : route.seedField;
  if (seedField !== null) input[seedField] = seedToInt32(job.seed);
  if (images.length > 0 && route.images !== undefined) {
    const uris = images.map((image) => toDataUri(image.bytes, image.mimeType));
    if ("list" in route.images) {
      input[route.images.list] = uris;
    } else {
      route.images.fields.forEach((field, index) => {
        input[field] = uris[index];
      });
    }
  }
  return input;
}

function checkRoute(operation: Operation, route: FalRoute): void {
  const count = OPERATION_REQUIREMENTS[operation].images;
  if (route.model.length === 0 || route.model.startsWith("/")) {
    throw new Error(`fal: route for ${operation} has an invalid model id`);
  }
  if (count > 0 && route.images === undefined) {
    throw new Error(`fal: route for ${operation} must say where its ${count} image(s) go`);
  }
  if (route.images !== undefined && "fields" in route.images && route.images.fields.length !== count) {
    throw new Error(
      `fal: route for ${operation} names ${route.images.fields.length} image fields, needs ${count}`,
    );
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`fal: ${name} must be positive, got ${value}`);
  return value;
}

const FACE_ERROR = "We could not find a face in the photo. Please send a clearer portrait.";

/**
 * fal's two error shapes: model errors (`detail: [{loc, msg, type}]`, usually 422) and request errors
 * (`{detail, error_type}`, also in the X-Fal-Error-Type header).
 */
function falError(response: HttpResponse, stage: string): ProviderError {
  const retryAfterMs = parseRetryAfterMs(response.headers.get("retry-after"));
  let body: unknown;
  try {
    body = parseJsonBody(response, PROVIDER, `${stage} error`);
  } catch {
    body = undefined;
  }
  const options = { provider: PROVIDER, httpStatus: response.status };
  const detail: unknown = isRecord(body) ? body["detail"] : undefined;
  const types = Array.isArray(detail)
    ? detail.flatMap((item) => (isRecord(item) && typeof item["type"] === "string" ? [item["type"]] : []))
    : [];
  const summary = `fal: ${stage} HTTP ${response.status}: ${JSON.stringify(detail ?? null).slice(0, 300)}`;
  if (types.includes("content_policy_violation"))
    return new ProviderError("content_rejected", summary, options);
  if (types.some((type) => type.startsWith("face_detection"))) {
    return new ProviderError("invalid_input", summary, { ...options, userMessage: FACE_ERROR });
  }
  if (response.status === 401 || response.status === 403) {
    return new ProviderError("misconfigured", `${summary} (check the fal API key)`, options);
  }
  const errorType =
    response.headers.get("x-fal-error-type") ??
    (isRecord(body) && typeof body["error_type"] === "string" ? body["error_type"] : null);
  if (errorType !== null) {
    if (errorType.endsWith("_timeout"))
      return new ProviderError("timeout", `${summary} (${errorType})`, options);
    if (errorType.startsWith("runner_"))
      return new ProviderError("provider_unavailable", `${summary} (${errorType})`, options);
  }
  return errorForStatus(PROVIDER, response.status, summary, retryAfterMs);
}
