// Raw HTTP helpers for testing the fake on its own (no client code: the fake is the reference).
import http from "node:http";
import type { AddressInfo } from "node:net";

import type { FakeYooKassa } from "../../src/index.js";

export const SHOP_ID = "123456";
export const SECRET_KEY = "test_SecretKeyForTheFakeOnly_0123456789";

export interface ApiAnswer {
  readonly status: number;
  readonly json: Record<string, unknown>;
  readonly text: string;
}

export function basicAuth(shopId = SHOP_ID, secretKey = SECRET_KEY): string {
  return `Basic ${Buffer.from(`${shopId}:${secretKey}`).toString("base64")}`;
}

export async function api(
  fake: FakeYooKassa,
  method: "GET" | "POST",
  path: string,
  options: { body?: unknown; rawBody?: string; key?: string; auth?: string | null } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = {};
  if (options.auth !== null) headers["Authorization"] = options.auth ?? basicAuth();
  if (options.key !== undefined) headers["Idempotence-Key"] = options.key;
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(new URL(path, fake.url), {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // left empty: the test looks at `text`
  }
  return { status: response.status, json, text };
}

let keyCounter = 0;
export function newKey(): string {
  keyCounter += 1;
  return `test-key-${String(process.pid)}-${String(Date.now())}-${String(keyCounter)}`;
}

export function paymentBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    amount: { value: "100.00", currency: "RUB" },
    capture: true,
    confirmation: { type: "redirect", return_url: "https://t.me/example_bot" },
    description: "Top-up 100 credits",
    metadata: { user_ref: "telegram:42", top_up_id: "t-1" },
    ...overrides,
  };
}

export async function createPayment(
  fake: FakeYooKassa,
  overrides: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const answer = await api(fake, "POST", "payments", { body: paymentBody(overrides), key: newKey() });
  if (answer.status !== 200) throw new Error(`create failed: ${answer.text}`);
  return answer.json;
}

export interface ReceivedNotification {
  readonly peer: string | undefined;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
  readonly answeredWith: number;
}

/** A notification receiver on 127.0.0.1 that answers with the next status from `plan` (then 200). */
export async function startReceiver(plan: number[] = []): Promise<{
  url: string;
  received: ReceivedNotification[];
  close: () => Promise<void>;
}> {
  const received: ReceivedNotification[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const status = plan.shift() ?? 200;
      received.push({
        peer: request.socket.remoteAddress,
        headers: request.headers,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
        answeredWith: status,
      });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}/yookassa/notifications`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
