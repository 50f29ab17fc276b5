// `npm run deadletters -- list [--from SEQ] [--limit N] | show SEQ | replay SEQ | purge SEQ`: what an
// operator does with the DEADLETTER stream. A dead letter is named by its sequence in the stream.
//
// - list: a page of dead letters (at most 100, default 20) from a sequence on; prints the next one.
// - show: every field of one letter and its payload (a notification's JSON, a job's fields).
// - replay: hands the original message back to where it was going, once its cause is fixed: a NATS
//   message is published again on its original subject under a new message id (JetStream would
//   drop the old id as a duplicate); a YooKassa notification is handed to billing's
//   HandleNotification (with an admin token), which re-reads the payment and applies it once.
//   The letter stays until purged, so a replay that fails again loses nothing.
// - purge: deletes one letter.
//
// Reads NATS_URL, NATS_NAMESPACE, BILLING_URL and an admin token (DEADLETTERS_BILLING_TOKEN, else the
// admin entry of BILLING_TOKENS) from the environment or infra/local.env.
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { fromBinary, toJsonString } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createBillingClient, errorReason } from "@billing/client";
import { connectNats, jetstream, jetstreamManager, type JetStreamManager, natsNames } from "@billing/events";
import { NotificationOutcome } from "@billing/proto/billing/v1/payments_pb";
import { type DeadLetter, DeadLetterSchema } from "@billing/proto/events/v1/deadletter_pb";
import { GenerationRequestedSchema } from "@billing/proto/events/v1/jobs_pb";
import { parseNotification } from "@billing/yookassa";
import { localEnv, tokenOfScope } from "./local-env.js";

const PAGE_DEFAULT = 20;
const PAGE_MAX = 100;
/** Sequences looked at per page at most (purged letters leave gaps). */
const SCAN_MAX = 10_000;
const SHOW_PAYLOAD_MAX_CHARS = 4_096;
/** The webhooks app's letters: YooKassa notifications that reached no NATS subject. */
const WEBHOOK_SUBJECT = "webhooks.yookassa";

const USAGE =
  "usage: npm run deadletters -- list [--from SEQ] [--limit N] | show SEQ | replay SEQ | purge SEQ";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { from: { type: "string" }, limit: { type: "string" } },
});
const [command, argument] = positionals;
const env = localEnv();
const names = natsNames(env.NATS_NAMESPACE ?? "");
const stream = names.streams.deadLetter;

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

function sequenceOf(text: string | undefined, what: string): number {
  if (text === undefined || !/^[1-9]\d{0,15}$/.test(text))
    fail(`${what} must be a sequence number\n${USAGE}`);
  return Number(text);
}

async function read(jsm: JetStreamManager, seq: number): Promise<DeadLetter | undefined> {
  try {
    const stored = await jsm.streams.getMessage(stream, { seq });
    if (stored === null) return undefined;
    return fromBinary(DeadLetterSchema, stored.data);
  } catch (error) {
    if (/no message found/i.test(String(error))) return undefined;
    throw error;
  }
}

function summary(seq: number, letter: DeadLetter): string {
  const at = letter.deadAt === undefined ? "-" : timestampDate(letter.deadAt).toISOString();
  const why =
    letter.reasonMessage.length > 80 ? `${letter.reasonMessage.slice(0, 77)}...` : letter.reasonMessage;
  return [seq, at, letter.app, letter.subject, letter.reasonCode, `x${letter.deliveries}`, why].join("  ");
}

async function list(jsm: JetStreamManager): Promise<void> {
  const limit = values.limit === undefined ? PAGE_DEFAULT : sequenceOf(values.limit, "--limit");
  if (limit > PAGE_MAX) fail(`--limit is at most ${PAGE_MAX}`);
  const { state } = await jsm.streams.info(stream);
  let seq = Math.max(values.from === undefined ? 1 : sequenceOf(values.from, "--from"), state.first_seq);
  let shown = 0;
  console.log(`${stream}: ${state.messages} dead letter(s), sequences ${state.first_seq}-${state.last_seq}`);
  for (const end = Math.min(state.last_seq, seq + SCAN_MAX - 1); seq <= end && shown < limit; seq++) {
    const letter = await read(jsm, seq);
    if (letter === undefined) continue;
    console.log(summary(seq, letter));
    shown++;
  }
  if (seq <= state.last_seq) console.log(`more: npm run deadletters -- list --from ${seq}`);
}

function payloadText(letter: DeadLetter): string {
  if (letter.subject === WEBHOOK_SUBJECT) return new TextDecoder().decode(letter.payload);
  if (letter.subject.startsWith("jobs.generation.requested")) {
    try {
      return toJsonString(GenerationRequestedSchema, fromBinary(GenerationRequestedSchema, letter.payload));
    } catch {
      // Undecodable is often why it is here: show the bytes instead.
    }
  }
  return `base64:${Buffer.from(letter.payload).toString("base64")}`;
}

async function show(jsm: JetStreamManager, seq: number): Promise<void> {
  const letter = (await read(jsm, seq)) ?? fail(`no dead letter ${seq} in ${stream}`);
  const fields: [string, string | number | bigint][] = [
    ["dead_letter_id", letter.deadLetterId],
    ["app", letter.app],
    ["subject", letter.subject],
    ["stream", letter.stream],
    ["consumer", letter.consumer],
    ["stream_sequence", letter.streamSequence],
    ["deliveries", letter.deliveries],
    ["reason_code", letter.reasonCode],
    ["reason_message", letter.reasonMessage],
  ];
  for (const [key, value] of fields) console.log(`${key}: ${value}`);
  const { deadAt } = letter;
  console.log(`dead_at: ${deadAt === undefined ? "-" : timestampDate(deadAt).toISOString()}`);
  const text = payloadText(letter);
  console.log(`payload (${letter.payload.length} bytes): ${text.slice(0, SHOW_PAYLOAD_MAX_CHARS)}`);
}

async function replayNotification(letter: DeadLetter): Promise<void> {
  const notification = parseNotification(letter.payload);
  if (notification.kind === "ignored") fail(`a ${notification.event} notification: billing ignores it`);
  const token = env.DEADLETTERS_BILLING_TOKEN ?? tokenOfScope(env, "admin");
  if (token === undefined)
    fail("no admin token: set DEADLETTERS_BILLING_TOKEN or an admin:… entry in BILLING_TOKENS");
  const billing = createBillingClient({ baseUrl: env.BILLING_URL ?? "http://127.0.0.1:50051", token });
  try {
    const result = await billing.payments.handleNotification({
      event: notification.event,
      objectId: notification.object.id,
    });
    console.log(
      `replayed to billing: ${notification.event} ${notification.object.id} -> ${NotificationOutcome[result.outcome]}`,
    );
  } catch (error) {
    fail(`billing refused the replay (${errorReason(error) ?? "error"}): ${String(error)}`);
  } finally {
    billing.close();
  }
}

async function replay(jsm: JetStreamManager, seq: number, js: ReturnType<typeof jetstream>): Promise<void> {
  const letter = (await read(jsm, seq)) ?? fail(`no dead letter ${seq} in ${stream}`);
  if (letter.subject === WEBHOOK_SUBJECT) await replayNotification(letter);
  else {
    const msgID = `replay-${seq}-${randomUUID()}`;
    const ack = await js.publish(names.subject(letter.subject), letter.payload, { msgID });
    console.log(`replayed to ${names.subject(letter.subject)} as ${msgID} (${ack.stream} #${ack.seq})`);
  }
  console.log(`dead letter ${seq} kept: npm run deadletters -- purge ${seq} once it is handled`);
}

if (!["list", "show", "replay", "purge"].includes(command ?? "")) fail(USAGE);
const nc = await connectNats({ servers: env.NATS_URL ?? "nats://127.0.0.1:4222", name: "deadletters" });
try {
  const jsm = await jetstreamManager(nc);
  if (command === "list") await list(jsm);
  else if (command === "show") await show(jsm, sequenceOf(argument, "the dead letter"));
  else if (command === "replay") await replay(jsm, sequenceOf(argument, "the dead letter"), jetstream(nc));
  else {
    const seq = sequenceOf(argument, "the dead letter");
    const purged = await jsm.streams.deleteMessage(stream, seq).catch(() => false);
    if (!purged) fail(`no dead letter ${seq} in ${stream}`);
    console.log(`dead letter ${seq} purged`);
  }
} finally {
  await nc.close();
}
