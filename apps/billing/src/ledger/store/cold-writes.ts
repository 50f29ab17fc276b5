// The writes of the ledger's cold paths (opening accounts, grants, refunds, top-ups), on one MikroORM
// transaction and at one instant. Transfers go through moveValue, the rule the batch session uses
// too; lot expiries through bookExpiries (this is their LotBook); events through the outbox of the
// same transaction. The hot path's twin is the set-based batch session (batch-session.ts).
import type { EntityManager } from "../../db/database.js";
import { entityManagerOf } from "../../db/unit-of-work.js";
import type { UnitOfWork } from "../../domain/unit-of-work.js";
import { CreditLot, LedgerTransfer } from "../../db/entities.js";
import type { DomainEvent } from "../../domain/events.js";
import type { AssetCode, TransferKind } from "../../domain/ledger-codes.js";
import { type CallerScope, type MoneyEffect, SYSTEM_SCOPE } from "../../observability/effects.js";
import { recordMoneyEffect } from "../../observability/record.js";
import { recordEvent } from "../../outbox/outbox.js";
import type { LotBook } from "./lot-book.js";
import type { AccountBalances, Movement } from "../rules/balances.js";
import type { LotShare, LotState } from "../rules/lots.js";
import { type AccountState, moveValue, storedShares, type TransferMeta } from "../rules/transfers.js";
import { balanceOf } from "../rules/views.js";

export class ColdWrites implements LotBook {
  constructor(
    readonly tx: EntityManager,
    readonly now: Date,
  ) {}

  /** Applies one transfer to two locked accounts and records it with the balances after it. */
  move(
    kind: TransferKind,
    asset: AssetCode,
    debit: AccountState,
    credit: AccountState,
    movement: Movement,
    meta: TransferMeta,
  ): LedgerTransfer {
    const transfer = moveValue(kind, asset, debit, credit, movement, meta, this.now);
    return this.tx.create(LedgerTransfer, { ...transfer, lots: storedShares(transfer.lots) });
  }

  announce(event: DomainEvent): void {
    recordEvent(this.tx, event, this.now);
  }

  /** `scope`: the caller's; billing's own by default (what the service does by itself). */
  observe(effect: MoneyEffect, scope: CallerScope = SYSTEM_SCOPE): void {
    recordMoneyEffect(this.tx, effect, scope);
  }

  /** The ORM tracks the lot entities it loaded: nothing to mark. */
  lotsChanged(): void {}

  /**
   * billing.balance.changed, for changes the user did not just ask for and pay with: value that
   * arrives (grants, top-ups, refunds) or returns (released and expired holds), and payment refunds.
   * Charges, holds and commits are answered to their caller and announced by the job's own events,
   * so they do not cost an outbox row each.
   */
  balanceChanged(
    userRef: string,
    accounts: { credits: AccountBalances; freeOperations: AccountBalances },
    cause: string,
  ): void {
    this.announce({ kind: "balanceChanged", userRef, cause, ...balanceOf(accounts) });
  }

  /** A new promo lot holding `credits` (its grant transfer is `grantTransferId`). */
  createLot(lot: {
    id: string;
    userRef: string;
    accountId: bigint;
    credits: bigint;
    priority: number;
    expiresAt: Date;
    reason: string;
    grantTransferId: string;
  }): void {
    this.tx.create(CreditLot, {
      id: lot.id,
      userRef: lot.userRef,
      accountId: lot.accountId,
      grantedCredits: lot.credits,
      balance: lot.credits,
      reserved: 0n,
      priority: lot.priority,
      expiresAt: lot.expiresAt,
      state: "ACTIVE",
      reason: lot.reason,
      grantTransferId: lot.grantTransferId,
      createdAt: this.now,
      expiredAt: null,
    });
  }
}

/** The transaction of another context's unit of work, for a cold path that runs inside it. */
export function coldTxOf(uow: UnitOfWork): EntityManager {
  return entityManagerOf(uow);
}

/** A user's lots that are active or still hold value (under the user's account lock, or in a snapshot). */
export async function liveLots(em: EntityManager, userRef: string): Promise<LotState[]> {
  return em.find(CreditLot, { userRef, $or: [{ state: "ACTIVE" }, { reserved: { $gt: 0n } }] });
}

/** A user's unexpired lots, however much they hold. */
export async function activeLotCount(em: EntityManager, userRef: string): Promise<number> {
  return em.count(CreditLot, { userRef, state: "ACTIVE" });
}

/** The lots that shares name (the user's accounts must be locked). */
export async function lotsByIds(em: EntityManager, shares: readonly LotShare[]): Promise<LotState[]> {
  if (shares.length === 0) return [];
  const lots = await em.find(CreditLot, { id: { $in: shares.map((share) => share.lotId) } });
  if (lots.length !== new Set(shares.map((share) => share.lotId)).size)
    throw new Error("ledger invariant: a transfer names a lot that does not exist");
  return lots;
}
