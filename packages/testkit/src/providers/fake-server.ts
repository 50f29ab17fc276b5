// What the provider fakes share: an HTTP server on 127.0.0.1 port 0, a bounded record of every
// request, queued one-shot faults, and the transport-level faults (slow answer, dropped connection).
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Faults both fakes understand; each applies to one request, then is gone. */
export type TransportFault =
  /** 429 with a retry hint (fal: Retry-After header; Gemini: RetryInfo in the body). */
  | { type: "rate_limit"; retryAfterSeconds?: number }
  | { type: "server_error"; status?: 500 | 502 | 503 | 504 }
  /** Answers normally, but only after the delay (longer than the client's timeout, usually). */
  | { type: "slow"; delayMs: number }
  /** Closes the connection: before any answer, or after the headers and part of the body. */
  | { type: "drop"; when?: "before_headers" | "mid_body" }
  /** 200 with a JSON content type and a body cut in the middle. */
  | { type: "malformed_json" };

const MAX_RECORDED = 1000;
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const MAX_QUEUED_FAULTS = 1000;

export type Handler = (request: RecordedRequest, response: ServerResponse) => Promise<void>;

export interface FakeServer {
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  /** Waits (abortably, on close) — for `slow` faults. */
  pause(ms: number): Promise<boolean>;
  close(): Promise<void>;
}

export async function startFakeServer(handler: Handler): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const closing = new AbortController();
  const server: Server = createServer((req, res) => {
    void serve(req, res);
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBody(req);
      if (body === undefined) {
        sendJson(res, 413, { detail: "Request body too large" });
        return;
      }
      const url = new URL(req.url ?? "/", "http://fake");
      const recorded: RecordedRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
      };
      requests.push(recorded);
      if (requests.length > MAX_RECORDED) requests.shift();
      await handler(recorded, res);
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { detail: `fake failed: ${String(error)}` });
      else res.destroy();
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    async pause(ms: number): Promise<boolean> {
      try {
        await delay(ms, undefined, { signal: closing.signal });
        return true;
      } catch {
        return false;
      }
    },
    async close(): Promise<void> {
      closing.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * Applies a transport fault. Returns true when the request has been dealt with (answered or
 * dropped); false for `slow`, after which the caller answers normally.
 */
export async function applyTransportFault(
  fault: TransportFault,
  server: FakeServer,
  res: ServerResponse,
  rateLimited: (retryAfterSeconds: number) => void,
  serverError: (status: number) => void,
): Promise<boolean> {
  switch (fault.type) {
    case "rate_limit":
      rateLimited(fault.retryAfterSeconds ?? 1);
      return true;
    case "server_error":
      serverError(fault.status ?? 500);
      return true;
    case "slow":
      await server.pause(fault.delayMs);
      return false;
    case "drop":
      if (fault.when === "mid_body") {
        res.writeHead(200, { "content-type": "application/json", "content-length": "4096" });
        res.write('{"partial": "');
        // Let the headers and the first bytes leave before the connection goes.
        await server.pause(20);
      }
      res.socket?.destroy();
      return true;
    case "malformed_json":
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"request_id": "cut');
      return true;
  }
}

/** Per-stage FIFO queues of one-shot faults. */
export class FaultQueue<Stage extends string, Fault> {
  readonly #queues = new Map<Stage, Fault[]>();
  #count = 0;

  push(stage: Stage, fault: Fault, times: number): void {
    if (!Number.isInteger(times) || times < 1 || this.#count + times > MAX_QUEUED_FAULTS) {
      throw new Error(`fault times must be 1..${MAX_QUEUED_FAULTS - this.#count}`);
    }
    const queue = this.#queues.get(stage) ?? [];
    for (let i = 0; i < times; i += 1) queue.push(fault);
    this.#queues.set(stage, queue);
    this.#count += times;
  }

  take(stage: Stage): Fault | undefined {
    const fault = this.#queues.get(stage)?.shift();
    if (fault !== undefined) this.#count -= 1;
    return fault;
  }

  clear(): void {
    this.#queues.clear();
    this.#count = 0;
  }
}
