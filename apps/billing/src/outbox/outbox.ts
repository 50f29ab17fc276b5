// Transactional outbox: domain events are written in the same transaction as their effect and
// published later by the relay, so an event exists if and only if its effect committed.
import type { EntityManager } from "../db/database.js";
import { OutboxEvent } from "../db/entities.js";
import type { DomainEvent } from "../domain/events.js";
import { encodeEvent } from "./encode.js";

/** Records an event in the transaction of its effect (MikroORM paths); returns its id. */
export function recordEvent(tx: EntityManager, event: DomainEvent, at: Date): string {
  const encoded = encodeEvent(event, at);
  tx.create(OutboxEvent, {
    eventId: encoded.eventId,
    subject: encoded.subject,
    payload: Buffer.from(encoded.payload),
    createdAt: at,
  });
  return encoded.eventId;
}
