// `npm start`: runs the whole stack on this machine against the local PostgreSQL and NATS, with the
// local fakes of Telegram and YooKassa unless real credentials are configured. Each process's log
// lines are prefixed with its name; Ctrl-C stops everything gracefully.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { NODE_FLAGS } from "@billing/config";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** infra/local.env, overridden by the real environment. */
function loadEnv(): Record<string, string> {
  const defaults: Record<string, string> = {};
  for (const line of readFileSync(`${ROOT}/infra/local.env`, "utf8").split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) defaults[match[1]] = match[2];
  }
  const env: Record<string, string> = { ...defaults };
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return env;
}

interface Service {
  name: string;
  /** Script relative to the repository root (built output). */
  script: string;
  args?: string[];
  /** Node's own flags, as compose and k8s run the app. */
  nodeFlags?: string[];
  env?: Record<string, string>;
}

const env = loadEnv();

/** The caller's own token of a scope, taken from BILLING_TOKENS ("scope:token,…"). */
function tokenOf(scope: string): string {
  const entry = (env.BILLING_TOKENS ?? "").split(",").find((pair) => pair.trim().startsWith(`${scope}:`));
  return entry === undefined ? "" : entry.trim().slice(scope.length + 1);
}

// YooKassa: a real shop when the environment itself names one (never infra/local.env); otherwise the
// local fake, whose notifications go to the webhooks app and whose checkout page stands in for
// YooKassa's. infra/local.env lets the webhooks app accept the fake's loopback address.
const realYooKassa =
  process.env.YOOKASSA_SHOP_ID !== undefined && process.env.YOOKASSA_SECRET_KEY !== undefined;
const fakeYooKassaEnv: Record<string, string> = {
  YOOKASSA_SHOP_ID: env.FAKE_YOOKASSA_SHOP_ID ?? "",
  YOOKASSA_SECRET_KEY: env.FAKE_YOOKASSA_SECRET_KEY ?? "",
  YOOKASSA_API_URL: `http://127.0.0.1:${env.FAKE_YOOKASSA_PORT ?? "8089"}/v3/`,
};
// Telegram: the real Bot API when the environment itself sets TELEGRAM_BOT_TOKEN (never
// infra/local.env); otherwise the local fake, which `npm run play` drives as a user.
const realTelegram = process.env.TELEGRAM_BOT_TOKEN !== undefined && process.env.TELEGRAM_BOT_TOKEN !== "";
const fakeTelegramPort = env.FAKE_TELEGRAM_PORT ?? "8081";
const botTelegramEnv: Record<string, string> = realTelegram
  ? {}
  : {
      TELEGRAM_BOT_TOKEN: env.FAKE_TELEGRAM_BOT_TOKEN ?? "",
      TELEGRAM_API_ROOT: `http://127.0.0.1:${fakeTelegramPort}`,
    };
const services: Service[] = [
  ...(realTelegram
    ? []
    : [
        {
          name: "telegram",
          script: "packages/testkit/dist/bin/fake-telegram.js",
          args: ["--port", fakeTelegramPort, "--token", env.FAKE_TELEGRAM_BOT_TOKEN ?? ""],
        },
      ]),
  ...(realYooKassa
    ? []
    : [
        {
          name: "yookassa",
          script: "packages/testkit/dist/bin/fake-yookassa.js",
          env: {
            ...fakeYooKassaEnv,
            FAKE_YOOKASSA_NOTIFICATION_URL: `http://127.0.0.1:${env.WEBHOOKS_PORT ?? "8082"}/yookassa/webhook`,
          },
        },
      ]),
  // Billing refunds Stars payments with the bot's token (refundStarPayment), at the same Telegram.
  {
    name: "billing",
    script: "apps/billing/dist/main.js",
    nodeFlags: [...NODE_FLAGS.billing],
    env: { ...(realYooKassa ? {} : fakeYooKassaEnv), ...botTelegramEnv },
  },
  { name: "webhooks", script: "apps/webhooks/dist/main.js", env: { BILLING_TOKEN: tokenOf("webhooks") } },
  {
    name: "worker",
    script: "apps/worker/dist/main.js",
    nodeFlags: [...NODE_FLAGS.worker],
    env: { BILLING_TOKEN: tokenOf("worker") },
  },
  // The bot retries getMe for a few seconds, so it may start next to the Telegram fake.
  { name: "bot", script: "apps/bot/dist/main.js", env: { BILLING_TOKEN: tokenOf("bot"), ...botTelegramEnv } },
];

const children = new Map<string, ChildProcess>();
let stopping = false;

function prefix(name: string, stream: NodeJS.ReadableStream, out: NodeJS.WritableStream): void {
  let buffer = "";
  stream.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    for (const line of lines) out.write(`${name.padEnd(9)}| ${line}\n`);
  });
}

for (const service of services) {
  const child = spawn(
    process.execPath,
    [...(service.nodeFlags ?? []), service.script, ...(service.args ?? [])],
    {
      cwd: ROOT,
      env: { ...env, ...service.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.set(service.name, child);
  if (child.stdout) prefix(service.name, child.stdout, process.stdout);
  if (child.stderr) prefix(service.name, child.stderr, process.stderr);
  child.on("exit", (code, signal) => {
    children.delete(service.name);
    if (!stopping) {
      console.error(`${service.name} exited (${signal ?? code}); stopping the stack`);
      stop(1);
    } else if (children.size === 0) process.exit(process.exitCode ?? 0);
  });
}

console.log(`stack: ${services.map((s) => s.name).join(", ")} starting — Ctrl-C to stop`);
if (!realYooKassa) console.log(`stack: YooKassa is the local fake on ${fakeYooKassaEnv.YOOKASSA_API_URL}`);
if (!realTelegram) {
  console.log(
    `stack: Telegram is the local fake on http://127.0.0.1:${fakeTelegramPort} — play a user: npm run play -- --user 42 /start`,
  );
}

function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  process.exitCode = code;
  for (const child of children.values()) child.kill("SIGTERM");
  setTimeout(() => {
    for (const child of children.values()) child.kill("SIGKILL");
    process.exit(code);
  }, 15_000).unref();
  if (children.size === 0) process.exit(code);
}

process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
