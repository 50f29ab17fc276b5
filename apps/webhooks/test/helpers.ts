// Helpers of the webhooks tests: configuration, raw HTTP posts from a chosen source address (the
// sender check looks at the real TCP peer), and reading the dead-letter stream.
import http from "node:http";
import { fromBinary } from "@bufbuild/protobuf";
import { connectNats, deleteNamespace, jetstreamManager, natsNames } from "@billing/events";
import { DeadLetterSchema } from "@billing/proto/events/v1/deadletter_pb";
import { parseEnv, webhooksEnvSchema, type WebhooksConfig } from "@billing/config";
import { NATS_URL } from "@billing/testkit";

export function webhooksConfig(env: Record<string, string>): WebhooksConfig {
  return parseEnv(webhooksEnvSchema, {
    WEBHOOKS_HOST: "127.0.0.1",
    WEBHOOKS_PORT: "0",
    NATS_URL,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    WEBHOOKS_SHUTDOWN_GRACE_MS: "2000",
    ...env,
  });
}

export interface Answer {
  status: number;
  text: string;
}

/** POSTs `body` from `localAddress` (default 127.0.0.1) with the given headers; a fresh connection each time. */
export function post(
  url: string,
  body: string | Buffer,
  options: {
    localAddress?: string;
    headers?: Record<string, string>;
    method?: string;
    chunked?: boolean;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    const request = http.request(
      url,
      {
        method: options.method ?? "POST",
        agent: false,
        localAddress: options.localAddress ?? "127.0.0.1",
        headers: {
          "content-type": "application/json",
          ...(options.chunked === true ? {} : { "content-length": String(bytes.byteLength) }),
          ...options.headers,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    // A receiver may answer 413 and close before reading everything we send.
    request.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE" || error.code === "ECONNRESET") return;
      reject(error);
    });
    if (options.chunked === true) {
      for (let offset = 0; offset < bytes.byteLength; offset += 16 * 1024)
        request.write(bytes.subarray(offset, offset + 16 * 1024));
      request.end();
    } else request.end(bytes);
  });
}

export interface ParkedLetter {
  reason: string;
  /** What was wrong, and the sender's address. */
  detail: string;
  app: string;
  subject: string;
  body: string;
}

/** Every events.v1.DeadLetter on the namespace's dead-letter stream, oldest first. */
export async function readDeadLetters(namespace: string): Promise<ParkedLetter[]> {
  const stream = natsNames(namespace).streams.deadLetter;
  const nc = await connectNats({ servers: NATS_URL, name: "webhooks-test" });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream).catch(() => undefined);
    const letters: ParkedLetter[] = [];
    for (let seq = info?.state.first_seq ?? 1; info !== undefined && seq <= info.state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq });
      if (message === null) continue;
      const letter = fromBinary(DeadLetterSchema, message.data);
      letters.push({
        reason: letter.reasonCode,
        detail: letter.reasonMessage,
        app: letter.app,
        subject: letter.subject,
        body: new TextDecoder().decode(letter.payload),
      });
    }
    return letters;
  } finally {
    await nc.close();
  }
}

/** Deletes everything the namespace created on NATS. */
export async function deleteDeadLetterStream(namespace: string): Promise<void> {
  const nc = await connectNats({ servers: NATS_URL, name: "webhooks-test" });
  try {
    await deleteNamespace(nc, natsNames(namespace));
  } finally {
    await nc.close();
  }
}

export async function metrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** The value of webhooks_notifications_total for an event and outcome (0 when absent). */
export function notificationCount(text: string, event: string, outcome: string): number {
  const line = text
    .split("\n")
    .find(
      (l) =>
        l.startsWith("webhooks_notifications_total{") &&
        l.includes(`event="${event}"`) &&
        l.includes(`outcome="${outcome}"`),
    );
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

export function notification(event: string, object: Record<string, unknown>): string {
  return JSON.stringify({ type: "notification", event, object });
}

export { waitFor } from "@billing/testkit";
