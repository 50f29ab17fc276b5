// A NATS namespace of its own for a billing test file, and what its streams hold.
import { fromBinary } from "@bufbuild/protobuf";
import { type BillingEvent, BillingEventSchema } from "@billing/proto/events/v1/billing_pb";
import { openNamespace, type OwnNamespace } from "@billing/events";
import { NATS_URL, uniqueName } from "@billing/testkit";

export interface StoredBillingEvent {
  subject: string;
  msgId: string | undefined;
  event: BillingEvent;
}

export interface TestNats extends OwnNamespace {
  /** Every message of BILLING_EVENTS, in stream order, decoded. */
  billingEvents(): Promise<StoredBillingEvent[]>;
}

export async function openTestNats(label: string): Promise<TestNats> {
  const own = await openNamespace({ servers: NATS_URL, namespace: uniqueName(label), name: `test-${label}` });
  const { jsm, names } = own;
  return {
    ...own,
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
  };
}
