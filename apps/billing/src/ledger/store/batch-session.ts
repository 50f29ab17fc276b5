// The unit of work of the ledger's hot path (Charge, Reserve, Commit, Release, in batches of any
// size): two round trips per batch, whatever its size.
//   trip 1: BEGIN; lock the holds named (id order); lock the accounts they and the batch touch (id
//           order: holds first, then accounts, the one lock order of the ledger); read those users'
//           live promo lots (guarded by the account locks just taken); read the batch's
//           idempotency keys; read the database's clock.
//   the rules run in memory on what was read;
//   trip 2: insert the transfers, holds, keys and outbox events, update the holds, lots and accounts
//           that changed, COMMIT.
// A unique-key race, a serialization failure or a deadlock rolls back and runs the batch again
// (bounded); a lost connection is UNAVAILABLE.
import type { Logger } from "@billing/observability";
import type { Pool } from "pg";
import {
  type Database,
  databaseUnavailable,
  isConnectionFailure,
  redactConnectionError,
} from "../../db/database.js";
import { announceCommitted } from "../../observability/record.js";
import type { AnswerBook, StoredAnswer } from "../../commands/index.js";
import type { Clock } from "../../domain/clock.js";
import type { DomainEvent } from "../../domain/events.js";
import type { AssetCode, TransferKind } from "../../domain/ledger-codes.js";
import { type CallerScope, type MoneyEffect, SYSTEM_SCOPE } from "../../observability/effects.js";
import { type EncodedEvent, encodeEvent } from "../../outbox/encode.js";
import type { Movement } from "../rules/balances.js";
import type { LotShare, LotState } from "../rules/lots.js";
import { type AccountState, moveValue, type NewTransfer, type TransferMeta } from "../rules/transfers.js";
import {
  ACCOUNT_COLUMNS,
  accountJson,
  accountOf,
  type AccountRow,
  answerOf,
  eventJson,
  HOLD_COLUMNS,
  holdJson,
  holdOf,
  type HoldRow,
  type HoldState,
  keyJson,
  type KeyRow,
  LOT_COLUMNS,
  lotJson,
  lotOf,
  type LotRow,
  transferJson,
} from "./rows.js";
import { isRetryable, TwoTrips } from "./two-trips.js";

/** What a batch locks and reads in its first trip. */
export interface BatchReads {
  readonly holdIds: readonly string[];
  readonly userRefs: readonly string[];
  readonly systemAccountIds: readonly bigint[];
  readonly keys: readonly string[];
  /** Skip holds another transaction has locked (the expiry sweep), instead of waiting for them. */
  readonly skipLocked?: boolean;
}

const MAX_ATTEMPTS = 5;

export class BatchSession implements AnswerBook {
  readonly accounts = new Map<bigint, AccountState>();
  readonly holds = new Map<string, HoldState>();
  /** The promo lots of the batch's users that are active or still hold value, by id. */
  readonly lots = new Map<string, LotState>();
  readonly #answers: Map<string, StoredAnswer>;
  readonly #transfers: NewTransfer[] = [];
  readonly #newHolds: HoldState[] = [];
  readonly #changedHolds = new Set<HoldState>();
  readonly #touched = new Set<AccountState>();
  readonly #changedLots = new Set<LotState>();
  readonly #kept: { key: string; answer: StoredAnswer }[] = [];
  readonly #events: EncodedEvent[] = [];
  /** Money effects to announce (metrics, audit) once the batch has committed. */
  readonly effects: { effect: MoneyEffect; scope: CallerScope }[] = [];

  constructor(
    readonly now: Date,
    accounts: readonly AccountState[],
    holds: readonly HoldState[],
    lots: readonly LotState[],
    answers: Map<string, StoredAnswer>,
  ) {
    for (const account of accounts) this.accounts.set(account.id, account);
    for (const hold of holds) this.holds.set(hold.id, hold);
    for (const lot of lots) this.lots.set(lot.id, lot);
    this.#answers = answers;
  }

  /** The user's two accounts, if the user has them (locked). */
  userAccounts(userRef: string): { credits: AccountState; freeOperations: AccountState } | undefined {
    let credits: AccountState | undefined;
    let freeOperations: AccountState | undefined;
    for (const account of this.accounts.values()) {
      if (account.kind !== "USER" || account.ownerRef !== userRef) continue;
      if (account.asset === "CREDITS") credits = account;
      else freeOperations = account;
    }
    return credits === undefined || freeOperations === undefined ? undefined : { credits, freeOperations };
  }

  /** The user's promo lots that are active or still hold value (locked through the user's accounts). */
  userLots(userRef: string): LotState[] {
    return [...this.lots.values()].filter((lot) => lot.userRef === userRef);
  }

  /** Marks lots as changed (they are written back at commit). */
  lotsChanged(lots: Iterable<LotState | LotShare>): void {
    for (const item of lots) {
      const lot = "lotId" in item ? this.lots.get(item.lotId) : item;
      if (lot === undefined)
        throw new Error(`ledger invariant: lot ${(item as LotShare).lotId} was not loaded`);
      this.#changedLots.add(lot);
    }
  }

  account(id: bigint): AccountState {
    const account = this.accounts.get(id);
    if (account === undefined) throw new Error(`ledger invariant: account ${id} was not locked`);
    return account;
  }

  answersOf(keys: readonly string[]): Promise<ReadonlyMap<string, StoredAnswer>> {
    const found = new Map<string, StoredAnswer>();
    for (const key of keys) {
      const answer = this.#answers.get(key);
      if (answer !== undefined) found.set(key, answer);
    }
    return Promise.resolve(found);
  }

  keep(key: string, answer: StoredAnswer): void {
    this.#kept.push({ key, answer });
    this.#answers.set(key, answer);
  }

  move(
    kind: TransferKind,
    asset: AssetCode,
    debit: AccountState,
    credit: AccountState,
    movement: Movement,
    meta: TransferMeta,
  ): NewTransfer {
    const transfer = moveValue(kind, asset, debit, credit, movement, meta, this.now);
    this.#transfers.push(transfer);
    this.#touched.add(debit);
    this.#touched.add(credit);
    return transfer;
  }

  addHold(hold: HoldState): void {
    this.#newHolds.push(hold);
    this.holds.set(hold.id, hold);
  }

  /** Marks a locked hold as changed (it is written back at commit). */
  changed(hold: HoldState): void {
    if (!this.#newHolds.includes(hold)) this.#changedHolds.add(hold);
  }

  /** `scope`: the caller's, or billing's own for what the service does by itself. */
  observe(effect: MoneyEffect, scope: CallerScope = SYSTEM_SCOPE): void {
    this.effects.push({ effect, scope });
  }

  announce(event: DomainEvent): void {
    this.#events.push(encodeEvent(event, this.now));
  }

  /** The second trip's statements. */
  writes(trips: TwoTrips): string[] {
    const statements: string[] = [];
    if (this.#transfers.length > 0) {
      statements.push(`insert into ledger_transfers (id, kind, asset, debit_account_id, credit_account_id, amount,
          pending, pending_id, refund_of, user_ref, operation, hold_id, job_id, reference, reason, lots,
          debit_balance_after, credit_balance_after, debit_reserved_after, credit_reserved_after, created_at)
        select id, kind, asset, debit_account_id, credit_account_id, amount, pending, pending_id, refund_of,
               user_ref, operation, hold_id, job_id, reference, reason, lots, debit_balance_after,
               credit_balance_after, debit_reserved_after, credit_reserved_after, created_at
          from jsonb_to_recordset(${trips.literal(this.#transfers.map(transferJson))}::jsonb) as r(n int,
               id uuid, kind text, asset text, debit_account_id bigint, credit_account_id bigint,
               amount bigint, pending boolean, pending_id uuid, refund_of uuid, user_ref text,
               operation text, hold_id uuid, job_id text, reference text, reason text, lots jsonb,
               debit_balance_after bigint, credit_balance_after bigint, debit_reserved_after bigint,
               credit_reserved_after bigint, created_at timestamptz)
         order by n`);
    }
    if (this.#newHolds.length > 0) {
      statements.push(`insert into ledger_holds (id, user_ref, operation, job_id, funded_by, amount, price_credits,
          state, pending_transfer_id, resolution_transfer_id, posted_amount, resolution_reason,
          refund_transfer_id, expires_at, created_at, resolved_at)
        select * from jsonb_to_recordset(${trips.literal(this.#newHolds.map(holdJson))}::jsonb) as r(id uuid,
               user_ref text, operation text, job_id text, funded_by text, amount bigint,
               price_credits bigint, state text, pending_transfer_id uuid, resolution_transfer_id uuid,
               posted_amount bigint, resolution_reason text, refund_transfer_id uuid,
               expires_at timestamptz, created_at timestamptz, resolved_at timestamptz)`);
    }
    if (this.#changedHolds.size > 0) {
      statements.push(`update ledger_holds h
          set state = r.state, resolution_transfer_id = r.resolution_transfer_id,
              posted_amount = r.posted_amount, resolution_reason = r.resolution_reason,
              resolved_at = r.resolved_at
         from jsonb_to_recordset(${trips.literal([...this.#changedHolds].map(holdJson))}::jsonb) as r(id uuid,
              state text, resolution_transfer_id uuid, posted_amount bigint, resolution_reason text,
              resolved_at timestamptz)
        where h.id = r.id`);
    }
    if (this.#changedLots.size > 0) {
      statements.push(`update credit_lots l
          set balance = r.balance, reserved = r.reserved, state = r.state, expired_at = r.expired_at
         from jsonb_to_recordset(${trips.literal([...this.#changedLots].map(lotJson))}::jsonb) as r(id uuid,
              balance bigint, reserved bigint, state text, expired_at timestamptz)
        where l.id = r.id`);
    }
    if (this.#touched.size > 0) {
      statements.push(`update ledger_accounts a
          set debits_pending = r.debits_pending, debits_posted = r.debits_posted,
              credits_pending = r.credits_pending, credits_posted = r.credits_posted
         from jsonb_to_recordset(${trips.literal([...this.#touched].map(accountJson))}::jsonb) as r(id bigint,
              debits_pending bigint, debits_posted bigint, credits_pending bigint, credits_posted bigint)
        where a.id = r.id`);
    }
    if (this.#kept.length > 0) {
      const rows = this.#kept.map(({ key, answer }) => keyJson(key, answer, this.now));
      statements.push(`insert into idempotency_keys (key, command, fingerprint, result, created_at)
        select key, command, decode(fingerprint, 'hex'), result, created_at
          from jsonb_to_recordset(${trips.literal(rows)}::jsonb) as r(key text, command text,
               fingerprint text, result jsonb, created_at timestamptz)`);
    }
    if (this.#events.length > 0) {
      statements.push(`insert into outbox_events (event_id, subject, payload, created_at)
        select event_id, subject, decode(payload, 'hex'), created_at
          from jsonb_to_recordset(${trips.literal(this.#events.map(eventJson))}::jsonb) as r(event_id uuid,
               subject text, payload text, created_at timestamptz)`);
    }
    return statements;
  }
}

/** What batch sessions run on: the shared pool, the ORM whose observer counts their effects. */
export interface BatchDeps {
  readonly db: Database;
  readonly pool: Pool;
  readonly log: Logger;
  /** A clock of the tests'; absent, the database's clock decides time (holds, expiry). */
  readonly clock: Clock | undefined;
}

export async function batchDepsOf(db: Database, log: Logger, clock: Clock | undefined): Promise<BatchDeps> {
  return { db, pool: await db.pool(), log, clock };
}

/**
 * Runs `work` in a batch session; its answer once the batch has committed, after the session's money
 * effects have been announced (a retried attempt's session is dropped, so nothing is observed twice).
 */
export async function inBatchSession<T>(
  deps: BatchDeps,
  reads: BatchReads,
  work: (session: BatchSession) => Promise<T>,
): Promise<T> {
  const { pool, log, clock } = deps;
  for (let attempt = 1; ; attempt++) {
    let trips: TwoTrips | undefined;
    let failure: unknown;
    // Set once the second trip is sent: a connection lost after that may have lost COMMIT's answer.
    let committing = false;
    try {
      trips = await TwoTrips.connect(pool);
      const session = await open(trips, clock, reads);
      const answer = await work(session);
      const writes = session.writes(trips);
      committing = true;
      await trips.commit(writes);
      announceCommitted(deps.db.orm, session.effects);
      return answer;
    } catch (error) {
      failure = error;
      if (isConnectionFailure(error)) {
        if (committing) {
          log.error(
            { err: redactConnectionError(error), outcome: "unknown" },
            "database connection lost while committing: the transaction may or may not have committed",
          );
        }
        throw databaseUnavailable(committing);
      }
      if (!isRetryable(error) || attempt >= MAX_ATTEMPTS) throw error;
    } finally {
      await trips?.release(failure);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
  }
}

async function open(trips: TwoTrips, clock: Clock | undefined, reads: BatchReads): Promise<BatchSession> {
  const holdIds = trips.literal(reads.holdIds);
  const userRefs = trips.literal(reads.userRefs);
  const systemIds = trips.literal(reads.systemAccountIds);
  const statements = [
    `select ${HOLD_COLUMNS} from ledger_holds h
       left join ledger_transfers t on t.id = h.pending_transfer_id
      where h.id = any(array(select jsonb_array_elements_text(${holdIds}::jsonb)::uuid))
      order by h.id for update of h${reads.skipLocked === true ? " skip locked" : ""}`,
    // The users of the batch and of its holds, the system shards it names, and the counterparties of
    // its holds' pending transfers (a pending amount is posted or voided where it is held).
    `select ${ACCOUNT_COLUMNS} from ledger_accounts
      where (kind = 'USER' and owner_ref = any(array(
               select jsonb_array_elements_text(${userRefs}::jsonb)
               union select user_ref from ledger_holds
                where id = any(array(select jsonb_array_elements_text(${holdIds}::jsonb)::uuid)))))
         or id = any(array(
               select jsonb_array_elements_text(${systemIds}::jsonb)::bigint
               union select t.credit_account_id from ledger_transfers t
                 join ledger_holds h on t.id = h.pending_transfer_id
                where h.id = any(array(select jsonb_array_elements_text(${holdIds}::jsonb)::uuid))))
      order by id for update`,
    // After the account locks, in the same trip: its snapshot sees every lot change committed before
    // them. Lots of the users above only, read as the users were found.
    `select ${LOT_COLUMNS} from credit_lots
      where user_ref = any(array(
              select jsonb_array_elements_text(${userRefs}::jsonb)
              union select user_ref from ledger_holds
               where id = any(array(select jsonb_array_elements_text(${holdIds}::jsonb)::uuid))))
        and (state = 'ACTIVE' or reserved > 0)`,
    `select key, command, encode(fingerprint, 'hex') as fingerprint, result::text as result
       from idempotency_keys
      where key = any(array(select jsonb_array_elements_text(${trips.literal(reads.keys)}::jsonb)))`,
    `select floor(extract(epoch from now()) * 1000)::bigint::text as now_ms`,
  ];
  const [holds, accounts, lots, keys, now] = await trips.begin(statements);
  const nowMs = (now?.rows[0] as { now_ms: string } | undefined)?.now_ms;
  if (
    holds === undefined ||
    accounts === undefined ||
    lots === undefined ||
    keys === undefined ||
    nowMs === undefined
  ) {
    throw new Error("ledger invariant: the first trip answered fewer results than it asked");
  }
  return new BatchSession(
    // Tests move time with a clock of their own; otherwise the database's clock decides, so that
    // instances with skewed clocks never disagree about whether a hold has expired.
    clock?.now() ?? new Date(Number(nowMs)),
    (accounts.rows as AccountRow[]).map(accountOf),
    (holds.rows as HoldRow[]).map(holdOf),
    (lots.rows as LotRow[]).map(lotOf),
    new Map((keys.rows as KeyRow[]).map((row) => [row.key, answerOf(row)])),
  );
}
