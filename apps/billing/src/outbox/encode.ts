// The one place where domain events become protobuf: events.v1.BillingEvent, under the base subject
// of its payload (the relay publishes it under the namespace). Pure.
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { BILLING_EVENT_SUBJECTS } from "@billing/events";
import { BillingEventSchema } from "@billing/proto/events/v1/billing_pb";
import type { DomainEvent } from "../domain/events.js";

export interface EncodedEvent {
  readonly eventId: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly createdAt: Date;
}

export function encodeEvent(event: DomainEvent, at: Date): EncodedEvent {
  const eventId = randomUUID();
  const message = create(BillingEventSchema, {
    eventId,
    occurredAt: timestampFromDate(at),
    userRef: event.userRef,
    payload: payloadOf(event),
  });
  return {
    eventId,
    subject: BILLING_EVENT_SUBJECTS[event.kind],
    payload: toBinary(BillingEventSchema, message),
    createdAt: at,
  };
}

function payloadOf(event: DomainEvent) {
  const { userRef: _userRef, ...fields } = event;
  switch (fields.kind) {
    case "balanceChanged": {
      const { kind, ...value } = fields;
      return { case: kind, value };
    }
    case "balanceLow": {
      const { kind, ...value } = fields;
      return { case: kind, value };
    }
    case "holdExpired": {
      const { kind, ...value } = fields;
      return { case: kind, value };
    }
    case "paymentSucceeded": {
      const { kind, ...value } = fields;
      return { case: kind, value };
    }
    case "paymentCanceled": {
      const { kind, ...value } = fields;
      return { case: kind, value };
    }
    case "refundSucceeded": {
      const { kind, ...value } = fields;
      return { case: kind, value };
    }
    case "creditsExpired": {
      const { kind, ...value } = fields;
      return { case: kind, value };
    }
    case "promoGranted":
    case "creditsExpiring": {
      const { kind, expiresAt, ...value } = fields;
      return { case: kind, value: { ...value, expiresAt: timestampFromDate(expiresAt) } } as const;
    }
    case "planActivated": {
      const { kind, until, ...value } = fields;
      return {
        case: kind,
        value: { ...value, ...(until === undefined ? {} : { until: timestampFromDate(until) }) },
      };
    }
  }
}
