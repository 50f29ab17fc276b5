// What the promo-lot tests read back: billing events of a user from the outbox (decoded), the lot
// shares a transfer carries, and the users' lots as stored.
import { fromBinary } from "@bufbuild/protobuf";
import { type BillingEvent, BillingEventSchema } from "@billing/proto/events/v1/billing_pb";
import { withPg } from "@billing/testkit";

type Payload = BillingEvent["payload"];
export type PayloadOf<K extends Payload["case"]> = Extract<Payload, { case: K }>["value"];

/** The user's billing events of one kind, in outbox order. */
export function eventsOf<K extends NonNullable<Payload["case"]>>(
  databaseUrl: string,
  userRef: string,
  kind: K,
): Promise<PayloadOf<K>[]> {
  return withPg(databaseUrl, async (pg) => {
    const { rows } = await pg.query<{ payload: Buffer }>(`select payload from outbox_events order by id`);
    return rows.flatMap((row) => {
      const event = fromBinary(BillingEventSchema, row.payload);
      return event.userRef === userRef && event.payload.case === kind
        ? [event.payload.value as PayloadOf<K>]
        : [];
    });
  });
}

/** The lot shares of a transfer, as "lot:amount" in stored order (empty when it moved none). */
export function sharesOf(
  databaseUrl: string,
  transferId: string,
): Promise<{ lot: string; amount: bigint }[]> {
  return withPg(databaseUrl, async (pg) => {
    const { rows } = await pg.query<{ lots: { lot: string; amount: string }[] | null }>(
      `select lots from ledger_transfers where id = $1`,
      [transferId],
    );
    return (rows[0]?.lots ?? []).map((share) => ({ lot: share.lot, amount: BigInt(share.amount) }));
  });
}

export interface StoredLot {
  id: string;
  balance: bigint;
  reserved: bigint;
  state: string;
}

/** A user's lots as stored, by id. */
export function storedLots(databaseUrl: string, userRef: string): Promise<Map<string, StoredLot>> {
  return withPg(databaseUrl, async (pg) => {
    const { rows } = await pg.query<{ id: string; balance: string; reserved: string; state: string }>(
      `select id::text as id, balance::text as balance, reserved::text as reserved, state
         from credit_lots where user_ref = $1`,
      [userRef],
    );
    return new Map(
      rows.map((row) => [
        row.id,
        { id: row.id, balance: BigInt(row.balance), reserved: BigInt(row.reserved), state: row.state },
      ]),
    );
  });
}
