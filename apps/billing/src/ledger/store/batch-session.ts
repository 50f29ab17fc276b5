// The unit of work of the ledger's hot path (Charge, Reserve, Commit, Release, in batches of any
// size): two round trips per batch, whatever its size.
//   trip 1: BEGIN; lock the holds named (id order); lock the accounts they and the batch touch (id
//           order: holds first, then accounts, the one lock order of the ledger); read those users'
//           live promo lots (guarded by the account locks just taken); read the batch's
//           idempotency keys; read the database's clock. A read with nothing to look up is left out.
//   the rules run in memory on what was read;
//   trip 2: insert the transfers, holds, keys and outbox events, update the holds, lots and accounts
//           that changed, COMMIT.
// The SQL itself is in batch-statements.ts.
// A unique-key race, a serialization failure or a deadlock rolls back and runs the batch again
// (bounded); a lost connection is UNAVAILABLE.
import type { Logger } from "@billing/observability";
import type { Pool, QueryResult } from "pg";
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
  accountJson,
  accountOf,
  type AccountRow,
  answerOf,
  eventJson,
  holdJson,
  holdOf,
  type HoldRow,
  type HoldState,
  keyJson,
  type KeyRow,
  lotJson,
  lotOf,
  type LotRow,
  transferJson,
} from "./rows.js";
import {
  INSERT_EVENTS,
  INSERT_HOLDS,
  INSERT_KEYS,
  INSERT_TRANSFERS,
  LOCK_ACCOUNTS,
  LOCK_HOLDS,
  LOCK_HOLDS_SKIP_LOCKED,
  READ_KEYS,
  READ_LOTS,
  READ_NOW,
  UPDATE_ACCOUNTS,
  UPDATE_HOLDS,
  UPDATE_LOTS,
} from "./batch-statements.js";
import { isRetryable, type PreparedStatement, TwoTrips } from "./two-trips.js";

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
    const write = (statement: PreparedStatement, rows: readonly unknown[]) => {
      if (rows.length > 0) statements.push(trips.execute(statement, rows));
    };
    write(INSERT_TRANSFERS, this.#transfers.map(transferJson));
    write(INSERT_HOLDS, this.#newHolds.map(holdJson));
    write(UPDATE_HOLDS, [...this.#changedHolds].map(holdJson));
    write(UPDATE_LOTS, [...this.#changedLots].map(lotJson));
    write(UPDATE_ACCOUNTS, [...this.#touched].map(accountJson));
    write(
      INSERT_KEYS,
      this.#kept.map(({ key, answer }) => keyJson(key, answer, this.now)),
    );
    write(INSERT_EVENTS, this.#events.map(eventJson));
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
  const { holdIds, userRefs, keys } = reads;
  // A read with nothing to look up is not sent: a spending batch names no holds, a resolution no keys.
  const [holds, accounts, lots, stored, now] = await trips.begin([
    holdIds.length === 0
      ? undefined
      : trips.execute(reads.skipLocked === true ? LOCK_HOLDS_SKIP_LOCKED : LOCK_HOLDS, holdIds),
    trips.execute(
      LOCK_ACCOUNTS,
      userRefs,
      holdIds,
      reads.systemAccountIds.map((id) => id.toString()),
    ),
    trips.execute(READ_LOTS, userRefs, holdIds),
    keys.length === 0 ? undefined : trips.execute(READ_KEYS, keys),
    trips.execute(READ_NOW),
  ]);
  const rowsOf = <R>(result: QueryResult | undefined): R[] => (result?.rows ?? []) as R[];
  const nowMs = rowsOf<{ now_ms: string }>(now)[0]?.now_ms;
  if (nowMs === undefined) throw new Error("ledger invariant: the first trip did not read the clock");
  return new BatchSession(
    // Tests move time with a clock of their own; otherwise the database's clock decides, so that
    // instances with skewed clocks never disagree about whether a hold has expired.
    clock?.now() ?? new Date(Number(nowMs)),
    rowsOf<AccountRow>(accounts).map(accountOf),
    rowsOf<HoldRow>(holds).map(holdOf),
    rowsOf<LotRow>(lots).map(lotOf),
    new Map(rowsOf<KeyRow>(stored).map((row) => [row.key, answerOf(row)])),
  );
}
