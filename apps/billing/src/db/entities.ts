// MikroORM entities of the ledger tables (the schema itself is in migrations/). Amounts are bigint.
import { defineEntity, p, type InferEntity } from "@mikro-orm/postgresql";
import {
  ACCOUNT_KINDS,
  ASSETS,
  FUNDING_SOURCES,
  HOLD_STATES,
  LOT_STATES,
  TRANSFER_KINDS,
} from "../domain/ledger-codes.js";

export const LedgerAccount = defineEntity({
  name: "LedgerAccount",
  tableName: "ledger_accounts",
  properties: {
    id: p.bigint().primary().autoincrement(),
    ownerRef: p.text(),
    asset: p.enum(ASSETS),
    kind: p.enum(ACCOUNT_KINDS),
    shard: p.smallint().default(0),
    debitsPending: p.bigint().default(0),
    debitsPosted: p.bigint().default(0),
    creditsPending: p.bigint().default(0),
    creditsPosted: p.bigint().default(0),
    /** A user's CREDITS account only (ledger/low-balance.ts): an admin's override; null = the default. */
    lowBalanceThresholdCredits: p.bigint().nullable(),
    /** A user's CREDITS account only: a top-up has landed on it once. */
    toppedUp: p.boolean().default(false),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type LedgerAccount = InferEntity<typeof LedgerAccount>;

export const LedgerTransfer = defineEntity({
  name: "LedgerTransfer",
  tableName: "ledger_transfers",
  properties: {
    seq: p.bigint().primary().autoincrement(),
    id: p.uuid().unique(),
    kind: p.enum(TRANSFER_KINDS),
    asset: p.enum(ASSETS),
    debitAccountId: p.bigint(),
    creditAccountId: p.bigint(),
    amount: p.bigint(),
    pending: p.boolean().default(false),
    pendingId: p.uuid().nullable(),
    refundOf: p.uuid().nullable(),
    userRef: p.text(),
    operation: p.text().nullable(),
    holdId: p.uuid().nullable(),
    jobId: p.text().nullable(),
    reference: p.text().nullable(),
    reason: p.text().nullable(),
    debitBalanceAfter: p.bigint(),
    creditBalanceAfter: p.bigint(),
    debitReservedAfter: p.bigint(),
    creditReservedAfter: p.bigint(),
    /** The promo lots it moved value of ([{lot, amount}], amounts as strings); null: none. */
    lots: p.json<StoredLotShare[]>().nullable(),
    createdAt: p.datetime(),
  },
});
export type LedgerTransfer = InferEntity<typeof LedgerTransfer>;

/** A lot's share of a transfer as stored in ledger_transfers.lots (JSON has no bigint). */
export interface StoredLotShare {
  lot: string;
  amount: string;
}

/** A promo lot: a part of a user's CREDITS balance that expires (see the PromoLots migration). */
export const CreditLot = defineEntity({
  name: "CreditLot",
  tableName: "credit_lots",
  properties: {
    id: p.uuid().primary(),
    userRef: p.text(),
    accountId: p.bigint(),
    grantedCredits: p.bigint(),
    balance: p.bigint(),
    reserved: p.bigint().default(0),
    priority: p.integer(),
    expiresAt: p.datetime(),
    state: p.enum(LOT_STATES),
    reason: p.text(),
    grantTransferId: p.uuid(),
    expiringAnnounced: p.boolean().default(false),
    createdAt: p.datetime(),
    expiredAt: p.datetime().nullable(),
  },
});
export type CreditLot = InferEntity<typeof CreditLot>;

export const LedgerHold = defineEntity({
  name: "LedgerHold",
  tableName: "ledger_holds",
  properties: {
    id: p.uuid().primary(),
    userRef: p.text(),
    operation: p.text(),
    jobId: p.text().nullable(),
    fundedBy: p.enum(FUNDING_SOURCES),
    amount: p.bigint(),
    priceCredits: p.bigint(),
    state: p.enum(HOLD_STATES),
    pendingTransferId: p.uuid().nullable(),
    resolutionTransferId: p.uuid().nullable(),
    postedAmount: p.bigint().nullable(),
    resolutionReason: p.text().nullable(),
    refundTransferId: p.uuid().nullable(),
    expiresAt: p.datetime(),
    createdAt: p.datetime(),
    resolvedAt: p.datetime().nullable(),
  },
});
export type LedgerHold = InferEntity<typeof LedgerHold>;

export const IdempotencyKey = defineEntity({
  name: "IdempotencyKey",
  tableName: "idempotency_keys",
  properties: {
    key: p.text().primary(),
    command: p.text(),
    fingerprint: p.blob(),
    result: p.json<unknown>(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IdempotencyKey = InferEntity<typeof IdempotencyKey>;

export const OutboxEvent = defineEntity({
  name: "OutboxEvent",
  tableName: "outbox_events",
  properties: {
    id: p.bigint().primary().autoincrement(),
    eventId: p.uuid().unique(),
    subject: p.text(),
    payload: p.blob(),
    createdAt: p.datetime().onCreate(() => new Date()),
    publishedAt: p.datetime().nullable(),
  },
});
export type OutboxEvent = InferEntity<typeof OutboxEvent>;

export const ledgerEntities = [
  LedgerAccount,
  LedgerTransfer,
  CreditLot,
  LedgerHold,
  IdempotencyKey,
  OutboxEvent,
];
