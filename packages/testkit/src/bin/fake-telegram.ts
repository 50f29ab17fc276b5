#!/usr/bin/env node
// Runs the Telegram Bot API fake as a process, so a bot started locally (TELEGRAM_API_ROOT=apiRoot)
// can be played with curl through the control API (see src/telegram/README.md).
// Usage: fake-telegram --token 123456:ABC [--port 8081] [--host 127.0.0.1] [--bot-username name]
//        [--webhook-origin http://127.0.0.1:3000] [--flood-limits] [--quiet]
import { parseArgs } from "node:util";
import { startFakeTelegram } from "../telegram/fake-telegram.js";
import type { TgCallRecord } from "../telegram/fake-telegram.js";

function summary(call: TgCallRecord): string {
  const p = call.params;
  const text =
    typeof p["text"] === "string" ? p["text"] : typeof p["caption"] === "string" ? p["caption"] : undefined;
  const outcome = call.dropped
    ? "dropped"
    : call.response?.ok === true
      ? "ok"
      : `${call.response?.ok === false ? call.response.error_code : "?"}`;
  const chat = p["chat_id"] === undefined ? "" : ` chat=${JSON.stringify(p["chat_id"])}`;
  return `${new Date(call.atMs).toISOString()} ${call.via === "webhook-reply" ? "(webhook reply) " : ""}${call.method}${chat}${text === undefined ? "" : ` ${JSON.stringify(text.slice(0, 200))}`} -> ${outcome}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      token: { type: "string" },
      port: { type: "string", default: "8081" },
      host: { type: "string", default: "127.0.0.1" },
      "bot-username": { type: "string" },
      "webhook-origin": { type: "string" },
      "flood-limits": { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
    },
    strict: true,
  });
  const token = values.token ?? process.env["TELEGRAM_BOT_TOKEN"];
  if (token === undefined) throw new Error("--token (or TELEGRAM_BOT_TOKEN) is required");
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`bad --port ${values.port}`);
  const quiet = values.quiet;
  const fake = await startFakeTelegram({
    token,
    port,
    host: values.host,
    floodLimits: values["flood-limits"],
    ...(values["bot-username"] === undefined ? {} : { botUsername: values["bot-username"] }),
    ...(values["webhook-origin"] === undefined ? {} : { webhookOrigin: values["webhook-origin"] }),
    ...(quiet ? {} : { onCall: (call: TgCallRecord) => process.stderr.write(`${summary(call)}\n`) }),
  });
  process.stdout.write(
    `${JSON.stringify({ apiRoot: fake.apiRoot, controlRoot: `${fake.apiRoot}/__control`, botUsername: fake.bot.username })}\n`,
  );
  const stop = (): void => {
    void fake.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`fake-telegram: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
