// What the chaos scenarios share: a clean-up stack (everything started is stopped, also on failure
// or Ctrl-C), the figures table, reading a whole stream back, and JetStream leadership probes.
import { fromBinary } from "@bufbuild/protobuf";
import { type JetStreamManager, jetstream, type NatsConnection } from "@billing/events";
import { BillingEventSchema } from "@billing/proto/events/v1/billing_pb";
import { type NatsNames, connectNats, jetstreamManager } from "@billing/events";
import { type NatsNode, withPg } from "@billing/testkit";

/** One line of the printed table: a figure of a scenario and whether its check held. */
export interface Figure {
  readonly scenario: string;
  readonly figure: string;
  readonly value: string;
  /** undefined: informational (no check). */
  readonly ok?: boolean;
}

/** Every figure of this run so far, in order (printed even when a scenario fails half-way). */
export const allFigures: Figure[] = [];

/** Collects figures of one scenario. */
export function figures(scenario: string) {
  const rows = allFigures;
  return {
    rows,
    check(figure: string, value: string | number, ok: boolean) {
      rows.push({ scenario, figure, value: String(value), ok });
    },
    note(figure: string, value: string | number) {
      rows.push({ scenario, figure, value: String(value) });
    },
  };
}

export function printTable(rows: readonly Figure[]): void {
  const table = [
    ["scenario", "figure", "value", "check"],
    ...rows.map((row) => [
      row.scenario,
      row.figure,
      row.value,
      row.ok === undefined ? "" : row.ok ? "ok" : "FAIL",
    ]),
  ];
  const widths = [0, 1, 2, 3].map((column) => Math.max(...table.map((row) => (row[column] ?? "").length)));
  const line = (row: string[]) => `| ${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(" | ")} |`;
  console.log(`\n${line(table[0] ?? [])}\n|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of table.slice(1)) console.log(line(row));
}

/** Clean-up steps, run last-added first, each bounded and each run even if an earlier one failed. */
export class Cleanup {
  readonly #steps: { what: string; run: () => Promise<unknown> }[] = [];
  #running: Promise<void> | undefined;

  add(what: string, run: () => Promise<unknown>): void {
    this.#steps.push({ what, run });
  }

  run(): Promise<void> {
    return (this.#running ??= (async () => {
      for (const step of this.#steps.reverse()) {
        const timeout = new Promise((resolve) => setTimeout(() => resolve("timeout"), 30_000).unref());
        const outcome = await Promise.race([step.run().then(() => "done"), timeout]).catch(
          (error: unknown) => `failed: ${String(error)}`,
        );
        if (outcome !== "done") console.error(`clean-up of ${step.what}: ${String(outcome)}`);
      }
    })());
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every 100 ms until it returns a value; undefined once `timeoutMs` has passed. */
export async function poll<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(100);
  }
  return undefined;
}

export interface StoredMessage {
  readonly subject: string;
  readonly msgId: string;
  readonly data: Uint8Array;
}

/**
 * Every message a stream holds now, read with an ordered consumer (bounded by `timeoutMs`); tried
 * again a few times, since right after a node was killed JetStream requests may time out.
 */
export async function readStream(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  timeoutMs = 60_000,
): Promise<StoredMessage[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readStreamOnce(nc, jsm, stream, timeoutMs);
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(1_000);
    }
  }
}

async function readStreamOnce(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  timeoutMs = 60_000,
): Promise<StoredMessage[]> {
  const total = (await jsm.streams.info(stream)).state.messages;
  const messages: StoredMessage[] = [];
  if (total === 0) return messages;
  const consumer = await jetstream(nc).consumers.get(stream);
  const iterator = await consumer.consume({ max_messages: 500 });
  const timer = setTimeout(() => void iterator.stop(), timeoutMs);
  try {
    for await (const message of iterator) {
      messages.push({
        subject: message.subject,
        msgId: message.headers?.get("Nats-Msg-Id") ?? "",
        data: message.data,
      });
      if (message.info.pending === 0) break;
    }
  } finally {
    clearTimeout(timer);
    await iterator.close().catch(() => undefined);
  }
  return messages;
}

/** Hold ids announced as billing.hold.expired in BILLING_EVENTS messages. */
export function expiredHoldIds(messages: readonly StoredMessage[]): string[] {
  return messages
    .map((message) => fromBinary(BillingEventSchema, message.data).payload)
    .flatMap((payload) => (payload.case === "holdExpired" ? [payload.value.holdId] : []));
}

/** The meta leader's server name as a node sees it ("" when there is none). */
export async function metaLeader(node: NatsNode): Promise<string> {
  const response = await fetch(`${node.monitorUrl}/jsz`, { signal: AbortSignal.timeout(1_000) });
  const jsz = (await response.json()) as { meta_cluster?: { leader?: string } };
  return jsz.meta_cluster?.leader ?? "";
}

/** The leader of a stream ("" when it has none right now). */
export async function streamLeader(jsm: JetStreamManager, stream: string): Promise<string> {
  const info = await jsm.streams.info(stream);
  return info.cluster?.leader ?? "";
}

/**
 * Milliseconds from now until every stream has a leader that is not `gone` (and there is a meta
 * leader), or undefined if that takes longer than `timeoutMs`.
 */
export async function timeToLeaders(
  jsm: JetStreamManager,
  streams: readonly string[],
  survivors: readonly NatsNode[],
  gone: string,
  timeoutMs: number,
): Promise<number | undefined> {
  const started = performance.now();
  const led = await poll(async () => {
    const meta = await Promise.any(survivors.map((node) => metaLeader(node)));
    if (meta === "" || meta === gone) return undefined;
    for (const stream of streams) {
      const leader = await streamLeader(jsm, stream);
      if (leader === "" || leader === gone) return undefined;
    }
    return true;
  }, timeoutMs);
  return led === undefined ? undefined : performance.now() - started;
}

/** Rows of one SQL query against a database. */
export function query<Row extends object>(databaseUrl: string, sql: string): Promise<Row[]> {
  return withPg(databaseUrl, async (pg) => (await pg.query<Row & Record<string, unknown>>(sql)).rows);
}

/**
 * Waits for billing's outbox to drain, then compares it with BILLING_EVENTS: the same event ids,
 * each once. Returns the figures and the stream's messages (for further checks).
 */
export async function outboxAgainstStream(databaseUrl: string, natsUrl: string, names: NatsNames) {
  const drained = await poll(async () => {
    const rows = await query<{ n: string }>(
      databaseUrl,
      `select count(*) as n from outbox_events where published_at is null`,
    );
    return rows[0]?.n === "0" ? true : undefined;
  }, 60_000);
  const outbox = (
    await query<{ id: string }>(databaseUrl, `select event_id::text as id from outbox_events`)
  ).map((row) => row.id);
  const nc = await connectNats({ servers: natsUrl, name: "chaos-audit" });
  try {
    const stream = await readStream(nc, await jetstreamManager(nc), names.streams.billingEvents);
    const streamIds = new Set(stream.map((message) => message.msgId));
    const equal =
      outbox.every((id) => streamIds.has(id)) &&
      stream.length === outbox.length &&
      streamIds.size === stream.length;
    return { drained: drained === true, outbox: outbox.length, stream, equal };
  } finally {
    await nc.close();
  }
}
