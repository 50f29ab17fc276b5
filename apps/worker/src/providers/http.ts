// HTTP for the hosted adapters: one request = one bounded attempt. Every call carries the job's
// signal and its own timeout, reads at most a fixed number of bytes, and fails only with a
// ProviderError, so an adapter never has to interpret a raw fetch failure.
import { abortError, ProviderError } from "./errors.js";

export interface HttpRequest {
  url: string;
  method: "GET" | "POST" | "PUT";
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  maxResponseBytes: number;
  /** API calls refuse redirects so a key header never follows one; file downloads may follow. */
  redirect?: "error" | "follow";
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

export async function httpRequest(
  provider: string,
  request: HttpRequest,
  signal: AbortSignal,
): Promise<HttpResponse> {
  if (signal.aborted) throw abortError(signal, provider);
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const combined = AbortSignal.any([signal, timeout]);
  const target = `${request.method} ${describeUrl(request.url)}`;
  try {
    const init: RequestInit = {
      method: request.method,
      signal: combined,
      redirect: request.redirect ?? "error",
    };
    if (request.headers !== undefined) init.headers = request.headers;
    if (request.body !== undefined) init.body = request.body;
    const response = await fetch(request.url, init);
    const body = await readBounded(response, request.maxResponseBytes, provider, target);
    return { status: response.status, headers: response.headers, body };
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    // The job's own signal wins over the per-request timeout: it says why the work stopped.
    if (signal.aborted) throw abortError(signal, provider);
    if (timeout.aborted) {
      throw new ProviderError("timeout", `${provider}: ${target} timed out after ${request.timeoutMs} ms`, {
        provider,
      });
    }
    throw new ProviderError("network_error", `${provider}: ${target} failed: ${describeCause(error)}`, {
      provider,
      cause: error,
    });
  }
}

async function readBounded(
  response: Response,
  maxBytes: number,
  provider: string,
  target: string,
): Promise<Uint8Array> {
  const tooLarge = (): ProviderError =>
    new ProviderError("bad_response", `${provider}: ${target} answered more than ${maxBytes} bytes`, {
      provider,
      httpStatus: response.status,
    });
  const declared = Number(response.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (response.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  // Typed as unknown and checked: fetch's stream typings say `any`.
  const reader: ReadableStreamDefaultReader<unknown> = response.body.getReader();
  // Ends when the stream ends or the byte bound is passed; the stream itself obeys the signal.
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!(value instanceof Uint8Array)) throw new Error(`${target}: body chunk is not bytes`);
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** `Retry-After` as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfterMs(value: string | null, nowMs: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const dateMs = Date.parse(trimmed);
  if (Number.isNaN(dateMs)) return undefined;
  return Math.max(0, dateMs - nowMs);
}

export function bodyText(body: Uint8Array): string {
  return new TextDecoder("utf-8").decode(body);
}

/** Parses a JSON body; anything unreadable is a `bad_response` (a proxy's HTML page, a cut body). */
export function parseJsonBody(response: HttpResponse, provider: string, what: string): unknown {
  const text = bodyText(response.body);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ProviderError(
      "bad_response",
      `${provider}: ${what} is not JSON (HTTP ${response.status}): ${text.slice(0, 120)}`,
      { provider, httpStatus: response.status, cause: error },
    );
  }
}

/**
 * The generic reading of an HTTP failure; adapters look at the body first for anything more
 * specific (content policy, an invalid key) and fall back to this. `message` is for logs.
 */
export function errorForStatus(
  provider: string,
  status: number,
  message: string,
  retryAfterMs: number | undefined,
): ProviderError {
  const options =
    retryAfterMs === undefined
      ? { provider, httpStatus: status }
      : { provider, httpStatus: status, retryAfterMs };
  if (status === 429) return new ProviderError("rate_limited", message, options);
  if (status === 408 || status === 504) return new ProviderError("timeout", message, options);
  if (status >= 500) return new ProviderError("provider_unavailable", message, options);
  if (status === 401 || status === 403 || status === 404)
    return new ProviderError("misconfigured", message, options);
  if (status >= 400) return new ProviderError("invalid_input", message, options);
  return new ProviderError("bad_response", message, options);
}

function describeUrl(url: string): string {
  if (url.startsWith("data:")) return "data: URI";
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`; // never the query: it may carry a key
  } catch {
    return "(invalid URL)";
  }
}

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return `${error.message} (${typeof code === "string" ? `${code}: ` : ""}${cause.message})`;
  }
  return error.message;
}
