#!/usr/bin/env node
// Runs the YooKassa fake as a process for the local stack. Configuration from argv, else env:
//   --port / FAKE_YOOKASSA_PORT (default 8089), --host / FAKE_YOOKASSA_HOST (default 127.0.0.1),
//   --shop-id / YOOKASSA_SHOP_ID, --secret-key / YOOKASSA_SECRET_KEY,
//   --notification-url / FAKE_YOOKASSA_NOTIFICATION_URL, --public-origin / FAKE_YOOKASSA_PUBLIC_ORIGIN,
//   --receipts-required / FAKE_YOOKASSA_RECEIPTS_REQUIRED=1.
// Prints one JSON line {"url", "controlUrl", "checkoutUrlPrefix", "pid"} once it listens; stops on SIGINT/SIGTERM.
import { parseArgs } from "node:util";

import { startFakeYooKassa } from "../yookassa/fake.js";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    host: { type: "string" },
    "shop-id": { type: "string" },
    "secret-key": { type: "string" },
    "notification-url": { type: "string" },
    "public-origin": { type: "string" },
    "receipts-required": { type: "boolean" },
  },
  strict: true,
});

const env = process.env;
const portText = values.port ?? env["FAKE_YOOKASSA_PORT"] ?? "8089";
const port = Number(portText);
const shopId = values["shop-id"] ?? env["YOOKASSA_SHOP_ID"];
const secretKey = values["secret-key"] ?? env["YOOKASSA_SECRET_KEY"];
const notificationUrl = values["notification-url"] ?? env["FAKE_YOOKASSA_NOTIFICATION_URL"];
const publicOrigin = values["public-origin"] ?? env["FAKE_YOOKASSA_PUBLIC_ORIGIN"];
const host = values.host ?? env["FAKE_YOOKASSA_HOST"] ?? "127.0.0.1";

if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`fake-yookassa: invalid port ${JSON.stringify(portText)}\n`);
  process.exit(2);
}
if (shopId === undefined || shopId === "" || secretKey === undefined || secretKey === "") {
  process.stderr.write(
    "fake-yookassa: --shop-id and --secret-key (or YOOKASSA_SHOP_ID / YOOKASSA_SECRET_KEY) are required\n",
  );
  process.exit(2);
}

const fake = await startFakeYooKassa({
  port,
  host,
  shopId,
  secretKey,
  receiptsRequired: values["receipts-required"] === true || env["FAKE_YOOKASSA_RECEIPTS_REQUIRED"] === "1",
  ...(notificationUrl === undefined || notificationUrl === "" ? {} : { notificationUrl }),
  ...(publicOrigin === undefined || publicOrigin === "" ? {} : { publicOrigin }),
});

process.stdout.write(
  `${JSON.stringify({ url: fake.url, controlUrl: fake.controlUrl, checkoutUrlPrefix: `${fake.origin}/checkout/`, pid: process.pid })}\n`,
);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  fake.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
