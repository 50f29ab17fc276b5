export { startWebhooks, type Webhooks, type WebhooksOptions } from "./server.js";
export { WEBHOOK_PATH } from "./receiver.js";
export { DEAD_LETTER_SUBJECT } from "./dead-letters.js";
