// A fake of fal.ai's queue API, faithful where the adapter depends on it: `Authorization: Key …`,
// submit → {request_id, status_url, response_url, cancel_url} with URLs under the app id (the model
// id's first two segments, as fal does), IN_QUEUE → IN_PROGRESS → COMPLETED over a few polls
// (202 until completed), results that point at an image file served without auth (as from fal's
// CDN), fal's two error shapes, and cancellation.
import type { ServerResponse } from "node:http";
import { decodeDataUri, sampleOutputPng } from "./png.js";
import {
  applyTransportFault,
  FaultQueue,
  sendJson,
  startFakeServer,
  type RecordedRequest,
  type TransportFault,
} from "./fake-server.js";

export type FalStage = "submit" | "status" | "result" | "cancel" | "file";

export type FalFault =
  | TransportFault
  /** 422 with a model error of type content_policy_violation. */
  | { type: "content_policy" }
  /** Result only: 200, but the safety checker flagged the image (has_nsfw_concepts: [true]). */
  | { type: "nsfw_flagged" };

export interface FakeFalOptions {
  apiKey?: string;
  /** Status polls that answer IN_QUEUE / IN_PROGRESS before COMPLETED (default 2). */
  pollsUntilComplete?: number;
  /** PNG or JPEG bytes served as the result image (default a 64×48 PNG). */
  image?: Uint8Array;
  imageContentType?: string;
}

export interface FalSubmission {
  requestId: string;
  model: string;
  input: Record<string, unknown>;
}

export interface FakeFal {
  /** Use as FalConfig.baseUrl. */
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Every HTTP request received, oldest first (bounded). */
  readonly requests: readonly RecordedRequest[];
  /** Every accepted submission, with its decoded JSON input. */
  readonly submissions: readonly FalSubmission[];
  /** Request ids whose cancellation was asked for. */
  readonly cancelled: readonly string[];
  /** Can be changed between jobs (e.g. a large number to make a job never complete). */
  pollsUntilComplete: number;
  /** The image bytes a submission's input carried, decoded from its data URIs, in field order. */
  inputImages(submission: FalSubmission): { mimeType: string; bytes: Uint8Array }[];
  failNext(stage: FalStage, fault: FalFault, times?: number): void;
  clearFaults(): void;
  close(): Promise<void>;
}

interface QueuedRequest {
  id: string;
  model: string;
  appPath: string;
  polls: number;
}

export async function startFakeFal(options: FakeFalOptions = {}): Promise<FakeFal> {
  const apiKey = options.apiKey ?? "fal-test-key";
  const image = options.image ?? sampleOutputPng();
  const imageContentType = options.imageContentType ?? "image/png";
  const faults = new FaultQueue<FalStage, FalFault>();
  const submissions: FalSubmission[] = [];
  const cancelled: string[] = [];
  const queued = new Map<string, QueuedRequest>();
  let nextId = 1;

  const state = { pollsUntilComplete: options.pollsUntilComplete ?? 2 };
  const server = await startFakeServer(handle);
  const baseUrl = server.baseUrl;

  async function handle(request: RecordedRequest, res: ServerResponse): Promise<void> {
    const segments = request.path.split("/").filter((segment) => segment.length > 0);
    const stage = stageOf(request.method, segments);
    if (stage === undefined) {
      sendJson(res, 404, { detail: "Not Found" });
      return;
    }
    const fault = faults.take(stage);
    if (fault !== undefined && (await applyFault(fault, res))) return;
    if (stage === "file") {
      serveFile(segments, res);
      return;
    }
    if (request.headers.authorization !== `Key ${apiKey}`) {
      sendJson(res, 401, { detail: "Invalid Key or Key not found" });
      return;
    }
    if (stage === "submit") {
      submit(request, segments, res);
      return;
    }
    const id = segments[3] ?? "";
    const entry = queued.get(id);
    if (entry === undefined || entry.appPath !== `${segments[0] ?? ""}/${segments[1] ?? ""}`) {
      sendJson(res, 404, { detail: `Request ${id} not found` });
      return;
    }
    if (stage === "cancel") {
      cancelled.push(id);
      sendJson(res, 202, { status: "CANCELLATION_REQUESTED" });
      return;
    }
    if (stage === "status") {
      status(entry, res);
      return;
    }
    result(entry, res, fault?.type === "nsfw_flagged");
  }

  /** Returns true when the fault answered the request. */
  async function applyFault(fault: FalFault, res: ServerResponse): Promise<boolean> {
    if (fault.type === "content_policy") {
      sendJson(
        res,
        422,
        {
          detail: [
            {
              loc: ["body", "prompt"],
              msg: "The content could not be processed because it contained material flagged by a content checker.",
              type: "content_policy_violation",
              ctx: {},
            },
          ],
        },
        { "x-fal-retryable": "false" },
      );
      return true;
    }
    if (fault.type === "nsfw_flagged") return false; // handled by the result route
    return applyTransportFault(
      fault,
      server,
      res,
      (seconds) => sendJson(res, 429, { detail: "Rate limit exceeded" }, { "retry-after": String(seconds) }),
      (status) =>
        sendJson(
          res,
          status,
          {
            detail: "Runner is unavailable",
            error_type: status === 504 ? "request_timeout" : "runner_scheduling_failure",
          },
          { "x-fal-error-type": status === 504 ? "request_timeout" : "runner_scheduling_failure" },
        ),
    );
  }

  function submit(request: RecordedRequest, segments: string[], res: ServerResponse): void {
    let input: unknown;
    try {
      input = JSON.parse(request.body.toString("utf8"));
    } catch {
      sendJson(res, 422, { detail: [{ loc: ["body"], msg: "Invalid JSON", type: "json_invalid" }] });
      return;
    }
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      sendJson(res, 422, {
        detail: [{ loc: ["body"], msg: "Input should be an object", type: "model_type" }],
      });
      return;
    }
    const id = `00000000-0000-4000-8000-${String(nextId).padStart(12, "0")}`;
    nextId += 1;
    const model = segments.join("/");
    const appPath = `${segments[0] ?? ""}/${segments[1] ?? ""}`;
    queued.set(id, { id, model, appPath, polls: 0 });
    submissions.push({ requestId: id, model, input: input as Record<string, unknown> });
    const requestUrl = `${baseUrl}/${appPath}/requests/${id}`;
    sendJson(res, 200, {
      request_id: id,
      status_url: `${requestUrl}/status`,
      response_url: requestUrl,
      cancel_url: `${requestUrl}/cancel`,
      queue_position: 0,
    });
  }

  function completed(entry: QueuedRequest): boolean {
    return entry.polls > state.pollsUntilComplete;
  }

  function status(entry: QueuedRequest, res: ServerResponse): void {
    entry.polls += 1;
    const requestUrl = `${baseUrl}/${entry.appPath}/requests/${entry.id}`;
    if (completed(entry)) {
      sendJson(res, 200, { status: "COMPLETED", response_url: requestUrl, metrics: { inference_time: 0.1 } });
    } else if (entry.polls <= Math.floor(state.pollsUntilComplete / 2)) {
      sendJson(res, 202, {
        status: "IN_QUEUE",
        queue_position: state.pollsUntilComplete - entry.polls,
        response_url: requestUrl,
      });
    } else {
      sendJson(res, 202, { status: "IN_PROGRESS", response_url: requestUrl, logs: null });
    }
  }

  function result(entry: QueuedRequest, res: ServerResponse, nsfw: boolean): void {
    if (!completed(entry)) {
      sendJson(res, 400, { detail: "Request is still in progress" });
      return;
    }
    const file = {
      url: `${baseUrl}/files/${entry.id}.png`,
      content_type: imageContentType,
      file_name: `${entry.id}.png`,
      file_size: image.length,
    };
    // Upscalers answer with one `image`, generators with `images`.
    if (/esrgan|upscal/i.test(entry.model)) {
      sendJson(res, 200, { image: file });
      return;
    }
    sendJson(res, 200, {
      images: [file],
      seed: 42,
      has_nsfw_concepts: [nsfw],
      prompt: "",
      timings: { inference: 0.1 },
    });
  }

  function serveFile(segments: string[], res: ServerResponse): void {
    const name = segments[1] ?? "";
    if (!queued.has(name.replace(/\.png$/, ""))) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("Not Found");
      return;
    }
    res.writeHead(200, { "content-type": imageContentType, "content-length": image.length });
    res.end(image);
  }

  return {
    baseUrl,
    apiKey,
    requests: server.requests,
    submissions,
    cancelled,
    get pollsUntilComplete() {
      return state.pollsUntilComplete;
    },
    set pollsUntilComplete(value: number) {
      state.pollsUntilComplete = value;
    },
    inputImages(submission: FalSubmission) {
      const uris: string[] = [];
      for (const value of Object.values(submission.input)) {
        if (typeof value === "string" && value.startsWith("data:")) uris.push(value);
        if (Array.isArray(value)) {
          for (const item of value) if (typeof item === "string" && item.startsWith("data:")) uris.push(item);
        }
      }
      return uris.map(decodeDataUri);
    },
    failNext(stage: FalStage, fault: FalFault, times = 1) {
      faults.push(stage, fault, times);
    },
    clearFaults() {
      faults.clear();
    },
    close: () => server.close(),
  };
}

/** fal's routes: files, `{app}/requests/{id}[/status|/cancel]`, and anything else POSTed is a submit. */
function stageOf(method: string, segments: string[]): FalStage | undefined {
  if (segments[0] === "files" && segments.length === 2 && method === "GET") return "file";
  if (segments[2] === "requests" && segments.length >= 4) {
    const tail = segments.slice(4).join("/");
    if (method === "GET" && tail === "") return "result";
    if (method === "GET" && tail === "status") return "status";
    if (method === "PUT" && tail === "cancel") return "cancel";
    return undefined;
  }
  if (method === "POST" && segments.length >= 2) return "submit";
  return undefined;
}
