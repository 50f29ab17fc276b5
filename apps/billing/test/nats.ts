// A NATS namespace of its own for a billing test file, and what its streams hold.
import { fromBinary } from "@bufbuild/protobuf";
import { type BillingEvent, BillingEventSchema } from "@billing/proto/events/v1/billing_pb";
import {
  connectNats,
  COMPACT_STREAM_OPTIONS,
  deleteNamespace,
  ensureStreams,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type NatsConnection,
  natsNames,
  type NatsNames,
} from "@billing/events";
import { NATS_URL, uniqueName } from "@billing/testkit";

export interface StoredBillingEvent {
  subject: string;
  msgId: string | undefined;
  event: BillingEvent;
}

export interface TestNats {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: NatsNames;
  /** Every message of BILLING_EVENTS, in stream order, decoded. */
  billingEvents(): Promise<StoredBillingEvent[]>;
  close(): Promise<void>;
}

export async function openTestNats(label: string): Promise<TestNats> {
  const nc = await connectNats({ servers: NATS_URL, name: `test-${label}` });
  const names = natsNames(uniqueName(label));
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, names, COMPACT_STREAM_OPTIONS);
  return {
    nc,
    js: jetstream(nc),
    jsm,
    names,
    async billingEvents() {
      const { state } = await jsm.streams.info(names.streams.billingEvents);
      const events: StoredBillingEvent[] = [];
      if (state.messages === 0) return events;
      for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
        const stored = await jsm.streams.getMessage(names.streams.billingEvents, { seq });
        if (stored === null) continue;
        events.push({
          subject: stored.subject,
          msgId: stored.header.get("Nats-Msg-Id") || undefined,
          event: fromBinary(BillingEventSchema, stored.data),
        });
      }
      return events;
    },
    async close() {
      await deleteNamespace(nc, names);
      await nc.close();
    },
  };
}

export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Sum of a metric's samples whose labels contain `labels` (e.g. duplicate="false"). */
export async function metricValue(metricsUrl: string, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels !== "" && !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}
