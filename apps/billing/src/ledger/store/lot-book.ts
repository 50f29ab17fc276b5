// What booking promo-lot expiries (promo-lots.ts) needs of a store: both the batch session of the hot
// path and the cold paths' ORM writes (cold-writes.ts) provide it. No I/O of its own.
import type { DomainEvent } from "../../domain/events.js";
import type { AssetCode, TransferKind } from "../../domain/ledger-codes.js";
import type { MoneyEffect } from "../../observability/effects.js";
import type { Movement } from "../rules/balances.js";
import type { LotShare, LotState } from "../rules/lots.js";
import type { AccountState, TransferMeta } from "../rules/transfers.js";

/** What booking an expiry needs of a store. */
export interface LotBook {
  readonly now: Date;
  move(
    kind: TransferKind,
    asset: AssetCode,
    debit: AccountState,
    credit: AccountState,
    movement: Movement,
    meta: TransferMeta,
  ): { id: string };
  announce(event: DomainEvent): void;
  /** A money effect of billing's own (metrics, audit), once the transaction commits. */
  observe(effect: MoneyEffect): void;
  /** Lots whose fields changed (the ORM tracks its entities itself). */
  lotsChanged(lots: Iterable<LotState | LotShare>): void;
}
