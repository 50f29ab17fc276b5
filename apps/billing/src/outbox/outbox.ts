// Transactional outbox: domain events are written in the same transaction as their effect and
// published later by the relay, so an event exists if and only if its effect committed.
import { randomUUID } from "node:crypto";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { BILLING_EVENT_SUBJECTS } from "@billing/events";
import { BillingEventSchema } from "@billing/proto/events/v1/billing_pb";
import type { EntityManager } from "../db/database.js";
import { OutboxEvent } from "../db/entities.js";

/** The payload of a BillingEvent (its oneof), e.g. { case: "holdExpired", value: {...} }. */
export type BillingEventPayload = Exclude<
  MessageInitShape<typeof BillingEventSchema>["payload"],
  { case: undefined } | undefined
>;

export function recordEvent(
  tx: EntityManager,
  userRef: string,
  payload: BillingEventPayload,
  at: Date,
): string {
  const eventId = randomUUID();
  const event = create(BillingEventSchema, {
    eventId,
    occurredAt: timestampFromDate(at),
    userRef,
    payload,
  });
  tx.create(OutboxEvent, {
    eventId,
    // The base subject (billing.hold.expired, …); the relay publishes it under the namespace.
    subject: BILLING_EVENT_SUBJECTS[payload.case],
    payload: Buffer.from(toBinary(BillingEventSchema, event)),
    createdAt: at,
  });
  return eventId;
}
