// A fake of the Gemini API's generateContent for image models, faithful where the adapter depends on
// it: the key in `x-goog-api-key` (or `?key=`), Google's error body ({error: {code, message, status,
// details}}) — including that a wrong key is a 400 INVALID_ARGUMENT with reason API_KEY_INVALID and
// a missing key a 403 — and a real PNG in the answer's inline data. Refusals come as HTTP 200 with
// promptFeedback.blockReason or a candidate finishReason, as the real API sends them.
import type { ServerResponse } from "node:http";
import { sampleOutputPng } from "./png.js";
import {
  applyTransportFault,
  FaultQueue,
  sendJson,
  startFakeServer,
  type RecordedRequest,
  type TransportFault,
} from "./fake-server.js";

export type GeminiFault =
  | TransportFault
  /** 200 with promptFeedback.blockReason (default "SAFETY") and no candidates. */
  | { type: "prompt_blocked"; blockReason?: string }
  /** 200 with a candidate that has no content and this finishReason (default "IMAGE_SAFETY"). */
  | { type: "output_blocked"; finishReason?: string }
  /** 200 with a text-only answer: the model declined to draw. */
  | { type: "text_only" };

export interface FakeGeminiOptions {
  apiKey?: string;
  /** PNG or JPEG bytes returned as the generated image (default a 64×48 PNG). */
  image?: Uint8Array;
  imageMimeType?: string;
  /** The REST API answers camelCase (`inlineData`); "snake" answers `inline_data` instead. */
  inlineDataStyle?: "camel" | "snake";
}

export interface GeminiCall {
  model: string;
  text: string;
  images: { mimeType: string; bytes: Uint8Array }[];
  generationConfig: Record<string, unknown>;
}

export interface FakeGemini {
  /** Use as GeminiConfig.baseUrl. */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly requests: readonly RecordedRequest[];
  /** Every well-formed, authorised generateContent call, with its input images decoded. */
  readonly calls: readonly GeminiCall[];
  failNext(fault: GeminiFault, times?: number): void;
  clearFaults(): void;
  close(): Promise<void>;
}

const ROUTE = /^\/v1beta\/models\/([\w.-]+):generateContent$/;

export async function startFakeGemini(options: FakeGeminiOptions = {}): Promise<FakeGemini> {
  const apiKey = options.apiKey ?? "gemini-test-key";
  const image = options.image ?? sampleOutputPng();
  const imageMimeType = options.imageMimeType ?? "image/png";
  const style = options.inlineDataStyle ?? "camel";
  const faults = new FaultQueue<"generate", GeminiFault>();
  const calls: GeminiCall[] = [];
  const server = await startFakeServer(handle);

  async function handle(request: RecordedRequest, res: ServerResponse): Promise<void> {
    const route = ROUTE.exec(request.path);
    if (route === null || request.method !== "POST") {
      googleError(res, 404, "NOT_FOUND", `The requested URL ${request.path} was not found on this server.`);
      return;
    }
    const model = route[1] ?? "";
    const fault = faults.take("generate");
    if (fault !== undefined && (await applyFault(fault, res))) return;

    const key = headerValue(request.headers["x-goog-api-key"]) ?? request.query.get("key");
    if (key === undefined || key === null || key === "") {
      googleError(
        res,
        403,
        "PERMISSION_DENIED",
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
      );
      return;
    }
    if (key !== apiKey) {
      googleError(res, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
        {
          "@type": "type.googleapis.com/google.rpc.ErrorInfo",
          reason: "API_KEY_INVALID",
          domain: "googleapis.com",
        },
      ]);
      return;
    }
    const call = parseCall(model, request.body);
    if (typeof call === "string") {
      googleError(res, 400, "INVALID_ARGUMENT", call);
      return;
    }
    calls.push(call);

    if (fault?.type === "prompt_blocked") {
      sendJson(res, 200, {
        promptFeedback: { blockReason: fault.blockReason ?? "SAFETY" },
        usageMetadata: usage(),
        modelVersion: model,
      });
      return;
    }
    if (fault?.type === "output_blocked") {
      sendJson(res, 200, {
        candidates: [{ finishReason: fault.finishReason ?? "IMAGE_SAFETY", index: 0 }],
        usageMetadata: usage(),
        modelVersion: model,
      });
      return;
    }
    const modalities = call.generationConfig["responseModalities"];
    const wantsImage = Array.isArray(modalities) && modalities.includes("IMAGE");
    const parts: unknown[] = [{ text: "Here is the image you asked for." }];
    if (wantsImage && fault?.type !== "text_only") {
      const data = Buffer.from(image).toString("base64");
      parts.push(
        style === "camel"
          ? { inlineData: { mimeType: imageMimeType, data } }
          : { inline_data: { mime_type: imageMimeType, data } },
      );
    }
    sendJson(res, 200, {
      candidates: [{ content: { role: "model", parts }, finishReason: "STOP", index: 0 }],
      usageMetadata: usage(),
      modelVersion: model,
      responseId: `fake-${calls.length}`,
    });
  }

  /** Returns true when the fault answered the request; refusals are answered after auth. */
  async function applyFault(fault: GeminiFault, res: ServerResponse): Promise<boolean> {
    if (fault.type === "prompt_blocked" || fault.type === "output_blocked" || fault.type === "text_only")
      return false;
    return applyTransportFault(
      fault,
      server,
      res,
      (seconds) =>
        googleError(
          res,
          429,
          "RESOURCE_EXHAUSTED",
          "You exceeded your current quota, please check your plan and billing details.",
          [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${seconds}s` }],
        ),
      (status) => {
        const [code, message] =
          status === 503
            ? ["UNAVAILABLE", "The model is overloaded. Please try again later."]
            : status === 504
              ? ["DEADLINE_EXCEEDED", "Deadline expired before operation could complete."]
              : [
                  "INTERNAL",
                  "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
                ];
        googleError(res, status, code, message);
      },
    );
  }

  return {
    baseUrl: server.baseUrl,
    apiKey,
    requests: server.requests,
    calls,
    failNext(fault: GeminiFault, times = 1) {
      faults.push("generate", fault, times);
    },
    clearFaults() {
      faults.clear();
    },
    close: () => server.close(),
  };
}

function googleError(
  res: ServerResponse,
  code: number,
  status: string,
  message: string,
  details?: unknown[],
): void {
  sendJson(res, code, { error: { code, message, status, ...(details === undefined ? {} : { details }) } });
}

function usage(): Record<string, number> {
  return { promptTokenCount: 10, candidatesTokenCount: 1290, totalTokenCount: 1300 };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The request as the real API would read it; a string is the INVALID_ARGUMENT message. */
function parseCall(model: string, body: Buffer): GeminiCall | string {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    return "Invalid JSON payload received.";
  }
  if (!isObject(json) || !Array.isArray(json["contents"]) || json["contents"].length === 0) {
    return "* GenerateContentRequest.contents: contents is not specified";
  }
  const texts: string[] = [];
  const images: { mimeType: string; bytes: Uint8Array }[] = [];
  for (const content of json["contents"] as unknown[]) {
    const parts = isObject(content) ? content["parts"] : undefined;
    if (!Array.isArray(parts) || parts.length === 0)
      return "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.";
    for (const part of parts as unknown[]) {
      if (!isObject(part)) return "Invalid value at 'contents[0].parts'";
      if (typeof part["text"] === "string") texts.push(part["text"]);
      const inline = part["inline_data"] ?? part["inlineData"];
      if (isObject(inline)) {
        const mimeType = inline["mime_type"] ?? inline["mimeType"];
        const data = inline["data"];
        if (typeof mimeType !== "string" || typeof data !== "string")
          return "Invalid inline_data: mime_type and data are required";
        const bytes = Buffer.from(data, "base64");
        images.push({ mimeType, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
      }
    }
  }
  const generationConfig = isObject(json["generationConfig"]) ? json["generationConfig"] : {};
  return { model, text: texts.join("\n"), images, generationConfig };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
