// The credits ledger. Its hot path (Charge, Reserve, Commit, Release, expiry) runs in batches on
// the set-based store, two round trips per batch (store/batch-session.ts); its cold paths (opening
// accounts, grants, refunds, top-ups) are one MikroORM transaction each. Every path locks in one
// order (holds, then accounts, each by id), records its idempotency key through the command
// pipeline, and commits its events with its effect — or changes nothing.
import { randomUUID } from "node:crypto";
import type { Logger } from "@billing/observability";
import type { Pool } from "pg";
import { IsolationLevel, LockMode } from "@mikro-orm/postgresql";
import { callerKey, entityAnswerBook, runCommand, runCommands, type Outcome } from "../commands/index.js";
import type { Database, EntityManager } from "../db/database.js";
import { entityManagerOf } from "../db/unit-of-work.js";
import type { UnitOfWork } from "../domain/unit-of-work.js";
import { CreditLot, LedgerHold, LedgerTransfer } from "../db/entities.js";
import type { Clock } from "../domain/clock.js";
import { DomainError } from "../domain/errors.js";
import type { AssetCode, TransferKind } from "../domain/ledger-codes.js";
import { recordEvent } from "../outbox/outbox.js";
import { callerScope, type CallerScope, SYSTEM_SCOPE } from "../observability/effects.js";
import { grantEffects, refundEffect, spendEffect, starterGrantEffect } from "../observability/effect-of.js";
import { announceCommitted, recordMoneyEffect } from "../observability/record.js";
import type { HoldExpectation } from "./rules/hold-expectation.js";
import { AccountDirectory, type LockedAccounts, SYSTEM, type SystemAccount } from "./store/accounts.js";
import { Batcher } from "./batcher.js";
import {
  LowBalance,
  type LowBalanceThresholdResult,
  type SetLowBalanceThresholdCommand,
} from "./low-balance.js";
import { type Resolution, expire, resolve } from "./resolutions.js";
import { available, type Movement } from "./rules/balances.js";
import { holdNotFound, unknownOperation } from "./rules/errors.js";
import {
  type AccountState,
  moveValue,
  sharesOfStored,
  storedShares,
  type TransferMeta,
} from "./rules/transfers.js";
import {
  assertLotExpiry,
  assertRoomForLot,
  LOT_EXPIRING_NOTICE_MS,
  type LotShare,
  type LotState,
  promoSummary,
  purchasedAvailable,
  returnShares,
} from "./rules/lots.js";
import { bookExpiries, expireUserLots, type LotBook } from "./promo-lots.js";
import { balanceOf, holdView } from "./rules/views.js";
import { charge, type ChargeCommand, reserve, type ReserveCommand, type RevenueShards } from "./spending.js";
import { type BatchReads, type BatchSession, inBatchSession } from "./store/batch-session.js";
import { readStatement } from "./store/statement.js";
import { readBalanceAsOf } from "./store/history.js";
import { verifyHistory } from "./store/history-invariants.js";
import type {
  Balance,
  BalanceDetails,
  ChargeResult,
  GrantResult,
  HoldResult,
  HoldView,
  Micros,
  RefundResult,
  Statement,
  StatementQuery,
  VerifyReport,
} from "./types.js";
import { type InvariantCheck, verifyLedger } from "./store/verify.js";
import { verifyLowBalance } from "./store/verify-low-balance.js";
import { verifyLots } from "./store/verify-lots.js";

export interface LedgerConfig {
  /** Operation → price in credits. */
  prices: ReadonlyMap<string, bigint>;
  starterFreeOperations: bigint;
  /** billing.balance.low below this many available credits, unless an admin set another. */
  lowBalanceThresholdCredits: bigint;
  /** Shards per system account (contention on hot system rows divided by this). */
  systemShards: number;
  /**
   * Spending transactions at once. Fewer means larger batches, so PostgreSQL's cost per command
   * (begin, commit, WAL flush) is shared by more commands; more helps only with more database cores.
   */
  batchesInFlight: number;
}

export type { ChargeCommand, ReserveCommand, Resolution };

/** `scope`: the caller's, captured at submit (a batch runs many callers' commands together). */
export type SpendCommand = (
  { type: "charge"; command: ChargeCommand } | { type: "reserve"; command: ReserveCommand }
) & { scope?: CallerScope | undefined };
export type SpendOutcome = Outcome<ChargeResult | HoldResult>;

/** Group commit bounds: commands per transaction and commands waiting (transactions at once: config). */
const BATCH_MAX = 64;
const QUEUE_MAX = 4_096;

export class Ledger {
  readonly #spending: Batcher<SpendCommand, ChargeResult | HoldResult>;
  readonly #resolutions: Batcher<Resolution, HoldResult>;
  readonly #lowBalance: LowBalance;

  private constructor(
    readonly db: Database,
    readonly config: LedgerConfig,
    /** A clock of the tests'; absent, the database's clock decides time (holds, expiry). */
    readonly testClock: Clock | undefined,
    readonly accounts: AccountDirectory,
    readonly pool: Pool,
    readonly log: Logger,
  ) {
    const bounds = { maxBatch: BATCH_MAX, maxInFlight: config.batchesInFlight, maxQueued: QUEUE_MAX };
    this.#spending = new Batcher({
      ...bounds,
      name: "spending",
      lockKeyOf: (item) => item.command.userRef,
      run: (batch) => this.spendBatch(batch),
    });
    this.#resolutions = new Batcher({
      ...bounds,
      name: "resolutions",
      lockKeyOf: (resolution) => resolution.holdId,
      run: (batch) => this.resolveBatch(batch),
    });
    this.#lowBalance = new LowBalance(config.lowBalanceThresholdCredits);
  }

  static async create(db: Database, config: LedgerConfig, log: Logger, testClock?: Clock): Promise<Ledger> {
    const accounts = await AccountDirectory.load(db, config.systemShards);
    return new Ledger(db, config, testClock, accounts, await db.pool(), log);
  }

  /** Time of the cold paths' rows (the hot path reads the database's clock with its locks). */
  #now(): Date {
    return this.testClock?.now() ?? new Date();
  }

  priceOf(operation: string): bigint {
    const price = this.config.prices.get(operation);
    if (price === undefined) throw unknownOperation(operation, [...this.config.prices.keys()]);
    return price;
  }

  /** Creates the user's accounts and grants the starter free operations, exactly once. */
  async openAccount(userRef: string): Promise<{ created: boolean; balance: Balance }> {
    return this.db.transaction(async (tx) => {
      // The unique key (owner, asset, shard) makes concurrent calls wait for the first one to commit;
      // only the call whose insert returned rows grants anything.
      const inserted = await tx.execute<{ id: string }[]>(
        `insert into ledger_accounts (owner_ref, asset, kind) values (?, 'CREDITS', 'USER'), (?, 'FREE_OPERATIONS', 'USER')
         on conflict (owner_ref, asset, shard) do nothing returning id`,
        [userRef, userRef],
      );
      const created = inserted.length === 2;
      if (inserted.length === 1) throw new Error("ledger invariant: a user had only one of its two accounts");
      const locked = await this.accounts.lock(tx, userRef, [
        { name: SYSTEM.issuance, asset: "FREE_OPERATIONS" },
      ]);
      if (created && this.config.starterFreeOperations > 0n) {
        const starter = this.#move(
          tx,
          "STARTER_GRANT",
          "FREE_OPERATIONS",
          locked.system(SYSTEM.issuance, "FREE_OPERATIONS"),
          locked.freeOperations,
          {
            type: "posted",
            amount: this.config.starterFreeOperations,
          },
          { userRef, reason: "starter free operations" },
        );
        this.#balanceChanged(tx, userRef, locked, "starter_grant");
        recordMoneyEffect(tx, starterGrantEffect(userRef, this.config.starterFreeOperations, starter.id));
      }
      return { created, balance: balanceOf(locked) };
    });
  }

  /** The user's balance inside another context's transaction (ACCOUNT_NOT_FOUND without accounts). */
  async balanceIn(uow: UnitOfWork, userRef: string): Promise<Balance> {
    return balanceOf(await this.accounts.read(entityManagerOf(uow), userRef));
  }

  /** Of the user's available credits, the purchased ones, inside another context's transaction. */
  async purchasedCreditsIn(uow: UnitOfWork, userRef: string): Promise<bigint> {
    const em = entityManagerOf(uow);
    const { credits } = await this.accounts.read(em, userRef);
    return purchasedAvailable(credits, await this.#liveLots(em, userRef));
  }

  async getBalance(userRef: string): Promise<Balance> {
    return balanceOf(await this.accounts.read(this.db.reader(), userRef));
  }

  /** The balance now with its promo part: purchased vs promo credits, the lots and the next expiry. */
  async balanceDetails(userRef: string): Promise<BalanceDetails> {
    // One snapshot for the accounts and the lots, so the split matches the balance.
    return this.db.reader().transactional(
      async (tx) => {
        const accounts = await this.accounts.read(tx, userRef);
        const balance = balanceOf(accounts);
        const lots = await this.#liveLots(tx, userRef);
        const summary = promoSummary(lots, this.#now());
        return {
          balance,
          creditsPromo: summary.promo,
          creditsPurchased: purchasedAvailable(accounts.credits, lots),
          nextExpiry: summary.nextExpiry,
          promoLots: summary.lots,
        };
      },
      { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
    );
  }

  /** The user's balance as it was at `asOf` (see store/history.ts for what that means exactly). */
  async balanceAsOf(userRef: string, asOf: Micros): Promise<Balance> {
    return readBalanceAsOf(this.db, userRef, asOf);
  }

  /** One-step debit: a free operation, else credits; nothing for an operation priced 0. */
  async charge(command: ChargeCommand, signal?: AbortSignal): Promise<ChargeResult> {
    this.priceOf(command.operation);
    return (await this.#spending.submit(
      { type: "charge", command, scope: callerScope() },
      signal,
    )) as ChargeResult;
  }

  /** Holds the price of an operation until Commit, Release or the timeout. */
  async reserve(command: ReserveCommand, signal?: AbortSignal): Promise<HoldResult> {
    this.priceOf(command.operation);
    return (await this.#spending.submit(
      { type: "reserve", command, scope: callerScope() },
      signal,
    )) as HoldResult;
  }

  /**
   * Charges and reserves, several at once in one transaction (group commit): one lock of all their
   * accounts, one read of their idempotency keys, one write of everything. Each command still gets
   * its own outcome; a refused one changes nothing. Under light load a batch holds one command.
   */
  async spendBatch(batch: readonly SpendCommand[]): Promise<SpendOutcome[]> {
    const shard = this.accounts.nextShard();
    const revenue: RevenueShards = {
      CREDITS: this.accounts.systemId(SYSTEM.revenue, "CREDITS", shard),
      FREE_OPERATIONS: this.accounts.systemId(SYSTEM.revenue, "FREE_OPERATIONS", shard),
    };
    const expiryId = this.accounts.systemId(SYSTEM.expired, "CREDITS", shard);
    const commands = batch.map((item) => ({
      ...item,
      name: item.type === "charge" ? "Charge" : "Reserve",
      key: callerKey(item.command.idempotencyKey),
      request: item.command,
    }));
    const reads: BatchReads = {
      holdIds: [],
      userRefs: [...new Set(batch.map((item) => item.command.userRef))],
      systemAccountIds: [revenue.CREDITS, revenue.FREE_OPERATIONS, expiryId],
      keys: commands.map((c) => c.key.stored),
    };
    return inBatchSession(
      this.pool,
      this.log,
      this.testClock,
      reads,
      async (session) => {
        // A lot that is due is expired before anything is spent (kept even if every command is refused).
        for (const userRef of reads.userRefs) this.#expireLotsOf(session, userRef, expiryId);
        const outcomes = await runCommands(session, commands, (item) => {
          const price = this.priceOf(item.command.operation);
          return this.#lowBalance.around(session, item.command.userRef, item.type, () =>
            item.type === "charge"
              ? charge(session, revenue, item.command, price)
              : reserve(session, revenue, item.command, price),
          );
        });
        outcomes.forEach((outcome, i) => {
          const item = batch[i];
          if (outcome.ok && !outcome.replayed && item !== undefined)
            session.observe(spendEffect(item.command, outcome.value), item.scope ?? callerScope());
        });
        return outcomes;
      },
      (session) => announceCommitted(this.db.orm, session.effects),
    );
  }

  /** Posts a pending hold: all of it (`amountCredits` 0 or absent), or that much of it; the rest returns. */
  async commit(
    command: { holdId: string; amountCredits: bigint | undefined; expected?: HoldExpectation | undefined },
    signal?: AbortSignal,
  ): Promise<HoldResult> {
    const { holdId, amountCredits, expected } = command;
    return this.#resolutions.submit(
      { holdId, kind: "post", amountCredits, expected, scope: callerScope() },
      signal,
    );
  }

  /** Voids a pending hold: everything held returns to its source. */
  async release(
    command: { holdId: string; reason: string; expected?: HoldExpectation | undefined },
    signal?: AbortSignal,
  ): Promise<HoldResult> {
    const { holdId, reason, expected } = command;
    return this.#resolutions.submit({ holdId, kind: "void", reason, expected, scope: callerScope() }, signal);
  }

  /** A user's statement, newest first (ListTransactions). */
  async statement(query: StatementQuery): Promise<Statement> {
    return readStatement(this.db.reader(), this.accounts, query);
  }

  /** Recomputes every invariant of the ledger, and those other contexts contribute. */
  async verify(extraChecks: readonly InvariantCheck[]): Promise<VerifyReport> {
    return verifyLedger(this.db, [verifyLowBalance, verifyHistory, verifyLots, ...extraChecks]);
  }

  async getHold(holdId: string): Promise<HoldView> {
    const hold = await this.db.reader().findOne(LedgerHold, { id: holdId });
    if (hold === null) throw holdNotFound(holdId);
    return holdView(hold);
  }

  /**
   * Commits and releases, several at once in one transaction (group commit): the holds are locked
   * in id order, then the accounts they move value on. Each resolution keeps its own outcome; a hold
   * found past its timeout is expired (that is kept) and the resolution refused with HOLD_EXPIRED.
   */
  async resolveBatch(batch: readonly Resolution[]): Promise<Outcome<HoldResult>[]> {
    const expiryId = this.accounts.systemId(SYSTEM.expired, "CREDITS", this.accounts.nextShard());
    const reads: BatchReads = {
      holdIds: [...new Set(batch.map((r) => r.holdId))],
      userRefs: [],
      systemAccountIds: [expiryId],
      keys: [],
    };
    return inBatchSession(
      this.pool,
      this.log,
      this.testClock,
      reads,
      (session) =>
        Promise.resolve(
          batch.map((resolution): Outcome<HoldResult> => {
            try {
              const userRef = session.holds.get(resolution.holdId)?.userRef ?? "";
              // Value returned to an expired lot expires at once; a due lot on the way expires too.
              const value = this.#lowBalance.around(session, userRef, "credits_expired", () =>
                resolve(session, resolution, expiryId),
              );
              return { ok: true, value, replayed: false };
            } catch (error) {
              if (error instanceof DomainError) return { ok: false, error };
              throw error;
            }
          }),
        ),
      (session) => announceCommitted(this.db.orm, session.effects),
    );
  }

  /**
   * Voids up to `limit` holds whose timeout passed, in one transaction. Due holds are claimed with
   * SKIP LOCKED, so several billing instances share the work without waiting on or double-expiring
   * each other; "due" is decided by the database's clock. Returns how many it expired.
   */
  async expireDueHolds(limit: number): Promise<number> {
    const due = await this.db.reader().execute<{ id: string }[]>(
      `select id from ledger_holds where state = 'PENDING' and expires_at <= coalesce(?::timestamptz, now())
          order by expires_at limit ?`,
      [this.testClock?.now() ?? null, limit],
    );
    if (due.length === 0) return 0;
    const expiryId = this.accounts.systemId(SYSTEM.expired, "CREDITS", this.accounts.nextShard());
    const reads: BatchReads = {
      holdIds: due.map((d) => d.id),
      userRefs: [],
      systemAccountIds: [expiryId],
      keys: [],
      skipLocked: true,
    };
    return inBatchSession(
      this.pool,
      this.log,
      this.testClock,
      reads,
      (session) => {
        let expired = 0;
        for (const hold of session.holds.values()) {
          if (hold.state !== "PENDING" || hold.expiresAt > session.now) continue;
          expire(session, hold, expiryId);
          expired++;
        }
        return Promise.resolve(expired);
      },
      (session) => announceCommitted(this.db.orm, session.effects),
    );
  }

  /**
   * Expires the remainder of up to `limit` promo lots whose expiry passed ("due" by the database's
   * clock), in one batch session: the users' accounts are locked first, so several billing instances
   * (or a charge that reaches a due lot first) never expire a lot twice. Returns how many users'
   * lots it looked at.
   */
  async expireDueLots(limit: number): Promise<number> {
    const due = await this.db.reader().execute<{ user_ref: string }[]>(
      `select distinct user_ref from (select user_ref from credit_lots
          where state = 'ACTIVE' and expires_at <= coalesce(?::timestamptz, now())
          order by expires_at limit ?) d`,
      [this.testClock?.now() ?? null, limit],
    );
    if (due.length === 0) return 0;
    const expiryId = this.accounts.systemId(SYSTEM.expired, "CREDITS", this.accounts.nextShard());
    const reads: BatchReads = {
      holdIds: [],
      userRefs: due.map((d) => d.user_ref),
      systemAccountIds: [expiryId],
      keys: [],
    };
    return inBatchSession(
      this.pool,
      this.log,
      this.testClock,
      reads,
      (session) => {
        for (const userRef of reads.userRefs) this.#expireLotsOf(session, userRef, expiryId);
        return Promise.resolve(reads.userRefs.length);
      },
      (session) => announceCommitted(this.db.orm, session.effects),
    );
  }

  /**
   * Announces billing.credits.expiring, once per lot, for up to `limit` lots with credits left that
   * expire within a day. Claimed with SKIP LOCKED and flagged in the same transaction as the outbox
   * row, so several instances never announce a lot twice. Returns how many it announced.
   */
  async announceExpiringLots(limit: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const now = this.testClock?.now() ?? null;
      const rows = await tx.execute<
        { id: string; user_ref: string; available: string; expires_at_ms: string }[]
      >(
        `with due as (
           select id from credit_lots
            where state = 'ACTIVE' and not expiring_announced and balance > reserved
              and expires_at > coalesce(?::timestamptz, now())
              and expires_at <= coalesce(?::timestamptz, now()) + ? * interval '1 millisecond'
            order by expires_at limit ? for update skip locked)
         update credit_lots l set expiring_announced = true from due where l.id = due.id
         returning l.id::text as id, l.user_ref, (l.balance - l.reserved)::text as available,
                   floor(extract(epoch from l.expires_at) * 1000)::bigint::text as expires_at_ms`,
        [now, now, LOT_EXPIRING_NOTICE_MS, limit],
      );
      for (const row of rows) {
        const event = {
          kind: "creditsExpiring" as const,
          userRef: row.user_ref,
          lotId: row.id,
          amountCredits: BigInt(row.available),
          expiresAt: new Date(Number(row.expires_at_ms)),
        };
        recordEvent(tx, event, this.#now());
      }
      return rows.length;
    });
  }

  /** Expires what is due among a user's lots in a batch session, noticing a low-balance crossing. */
  #expireLotsOf(session: BatchSession, userRef: string, expiryId: bigint): void {
    if (session.userLots(userRef).length === 0) return;
    this.#lowBalance.around(session, userRef, "credits_expired", () =>
      expireUserLots(session, userRef, expiryId),
    );
  }

  /**
   * Reverses a posted charge (by transfer or by committed hold) to the source that paid it. Locks
   * in the one order of the ledger: the hold (if the charge was a hold's), then the accounts.
   */
  async refund(command: {
    target: { transferId: string } | { holdId: string };
    reason: string;
    idempotencyKey: string;
  }): Promise<RefundResult> {
    return this.db.transaction(async (tx) => {
      const { hold, original } = await this.#lockRefundTarget(tx, command.target);
      const userRef = hold?.userRef ?? original?.userRef ?? "";
      const asset = original?.asset ?? "CREDITS";
      const locked = await this.accounts.lock(tx, userRef, [
        { name: SYSTEM.revenue, asset },
        { name: SYSTEM.expired, asset: "CREDITS" },
      ]);
      const spec = { name: "Refund", key: callerKey(command.idempotencyKey), request: command };
      return runCommand(
        entityAnswerBook(tx, () => this.#now()),
        spec,
        async () => {
          if (
            original === null ||
            (hold !== null && hold.state !== "POSTED") ||
            !["CHARGE", "HOLD_POSTED"].includes(original.kind)
          ) {
            throw new DomainError(
              "NOT_REFUNDABLE",
              "only a posted charge or a committed hold that moved value can be refunded",
            );
          }
          const already = await tx.findOne(LedgerTransfer, { refundOf: original.id });
          if (already !== null) {
            throw new DomainError(
              "ALREADY_REFUNDED",
              `transfer ${original.id} was already refunded by ${already.id}`,
              { metadata: { refund_transfer_id: already.id } },
            );
          }
          // Promo credits go back to the lots that paid; what returns to an expired lot expires at once.
          const shares = sharesOfStored(original.lots);
          const lots = await this.#lotsByIds(tx, shares);
          returnShares(new Map(lots.map((lot) => [lot.id, lot])), shares);
          const refund = this.#move(
            tx,
            "REFUND",
            asset,
            locked.system(SYSTEM.revenue, asset),
            locked.user(asset),
            { type: "posted", amount: original.amount },
            {
              userRef,
              operation: original.operation ?? undefined,
              holdId: original.holdId ?? undefined,
              jobId: original.jobId ?? undefined,
              reason: command.reason,
              refundOf: original.id,
              lots: shares,
            },
          );
          bookExpiries(
            this.#ormBook(tx),
            userRef,
            locked.credits,
            locked.system(SYSTEM.expired, "CREDITS"),
            lots,
          );
          if (hold !== null) hold.refundTransferId = refund.id;
          this.#balanceChanged(tx, userRef, locked, "refund");
          const result: RefundResult = {
            refundTransferId: refund.id,
            returnedAs: asset === "CREDITS" ? "CREDITS" : "FREE_OPERATION",
            amountCredits: asset === "CREDITS" ? original.amount : 0n,
            amountFreeOperations: asset === "FREE_OPERATIONS" ? original.amount : 0n,
            balance: balanceOf(locked),
          };
          recordMoneyEffect(tx, refundEffect(original, command.idempotencyKey, result));
          return result;
        },
      );
    });
  }

  /** The charge to refund and, locked, the hold it belongs to (transfers are immutable: no lock). */
  async #lockRefundTarget(
    tx: EntityManager,
    target: { transferId: string } | { holdId: string },
  ): Promise<{ hold: LedgerHold | null; original: LedgerTransfer | null }> {
    const lockHold = (id: string) => tx.findOne(LedgerHold, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if ("holdId" in target) {
      const hold = await lockHold(target.holdId);
      if (hold === null) throw holdNotFound(target.holdId);
      const original =
        hold.resolutionTransferId == null
          ? null
          : await tx.findOne(LedgerTransfer, { id: hold.resolutionTransferId });
      return { hold, original };
    }
    const original = await tx.findOne(LedgerTransfer, { id: target.transferId });
    if (original === null) {
      throw new DomainError("TRANSFER_NOT_FOUND", `no transfer ${target.transferId}`, {
        metadata: { transfer_id: target.transferId },
      });
    }
    return { hold: original.holdId == null ? null : await lockHold(original.holdId), original };
  }

  /** Operator credit of credits and/or free operations; with `promo`, the credits are a promo lot. */
  async grant(command: {
    userRef: string;
    amountCredits: bigint;
    freeOperations: bigint;
    reason: string;
    idempotencyKey: string;
    promo?: { expiresAt: Date; priority: number } | undefined;
  }): Promise<GrantResult> {
    const parts = [
      { asset: "CREDITS" as const, amount: command.amountCredits },
      { asset: "FREE_OPERATIONS" as const, amount: command.freeOperations },
    ].filter((part) => part.amount > 0n);
    return this.db.transaction(async (tx) => {
      const locked = await this.accounts.lock(
        tx,
        command.userRef,
        parts.map((part) => ({ name: SYSTEM.issuance, asset: part.asset })),
      );
      const spec = { name: "Grant", key: callerKey(command.idempotencyKey), request: command };
      return runCommand(
        entityAnswerBook(tx, () => this.#now()),
        spec,
        async (): Promise<GrantResult> => {
          const promo = command.promo;
          if (promo !== undefined) {
            assertLotExpiry(promo.expiresAt, this.#now());
            assertRoomForLot(await tx.count(CreditLot, { userRef: command.userRef, state: "ACTIVE" }));
          }
          const lotId = promo === undefined ? "" : randomUUID();
          const transferIds = parts.map((part) => {
            const lots = lotId !== "" && part.asset === "CREDITS" ? [{ lotId, amount: part.amount }] : [];
            return this.#move(
              tx,
              "GRANT",
              part.asset,
              locked.system(SYSTEM.issuance, part.asset),
              locked.user(part.asset),
              { type: "posted", amount: part.amount },
              { userRef: command.userRef, reason: command.reason, lots },
            ).id;
          });
          if (promo !== undefined) {
            tx.create(CreditLot, {
              id: lotId,
              userRef: command.userRef,
              accountId: locked.credits.id,
              grantedCredits: command.amountCredits,
              balance: command.amountCredits,
              reserved: 0n,
              priority: promo.priority,
              expiresAt: promo.expiresAt,
              state: "ACTIVE",
              reason: command.reason,
              grantTransferId: transferIds[0] ?? "",
              createdAt: this.#now(),
              expiredAt: null,
            });
            recordEvent(
              tx,
              {
                kind: "promoGranted",
                userRef: command.userRef,
                lotId,
                amountCredits: command.amountCredits,
                expiresAt: promo.expiresAt,
                priority: promo.priority,
                reason: command.reason,
                creditsAvailable: available(locked.credits),
              },
              this.#now(),
            );
          }
          this.#balanceChanged(tx, command.userRef, locked, "grant");
          for (const effect of grantEffects(command, parts, transferIds)) recordMoneyEffect(tx, effect);
          return { transferIds, balance: balanceOf(locked), lotId };
        },
      );
    });
  }

  /**
   * Credits bought with a payment, inside the caller's transaction (the payment's status change),
   * so the credit and the status commit together or not at all.
   */
  async creditTopUp(
    uow: UnitOfWork,
    command: { userRef: string; credits: bigint; paymentId: string },
  ): Promise<{ transferId: string; balance: Balance }> {
    const tx = entityManagerOf(uow);
    const locked = await this.accounts.lock(tx, command.userRef, [
      { name: SYSTEM.payments, asset: "CREDITS" },
    ]);
    locked.credits.toppedUp = true;
    const transfer = this.#move(
      tx,
      "TOP_UP",
      "CREDITS",
      locked.system(SYSTEM.payments, "CREDITS"),
      locked.credits,
      {
        type: "posted",
        amount: command.credits,
      },
      { userRef: command.userRef, reference: command.paymentId },
    );
    this.#balanceChanged(tx, command.userRef, locked, "top_up");
    return { transferId: transfer.id, balance: balanceOf(locked) };
  }

  /**
   * Takes back credits of a refunded payment, inside the caller's transaction: all of `credits`, or
   * with `atMostAvailable` only what the user still has. Returns what was taken.
   */
  async takeBackTopUp(
    uow: UnitOfWork,
    command: {
      userRef: string;
      credits: bigint;
      paymentId: string;
      reference: string;
      atMostAvailable: boolean;
    },
  ): Promise<{ takenCredits: bigint; transferId: string; balance: Balance }> {
    const tx = entityManagerOf(uow);
    const locked = await this.accounts.lock(tx, command.userRef, [
      { name: SYSTEM.payments, asset: "CREDITS" },
    ]);
    // Only purchased credits can be taken back: promo lots are not the payment's.
    const availableCredits = purchasedAvailable(locked.credits, await this.#liveLots(tx, command.userRef));
    if (command.credits > availableCredits && !command.atMostAvailable) {
      throw new DomainError(
        "CREDITS_ALREADY_SPENT",
        `the user has ${availableCredits} purchased credits available, fewer than the ${command.credits} to take back`,
        {
          metadata: {
            credits_available: availableCredits.toString(),
            credits_to_take: command.credits.toString(),
          },
        },
      );
    }
    const taken = command.credits < availableCredits ? command.credits : availableCredits;
    const before = balanceOf(locked);
    if (taken === 0n) return { takenCredits: 0n, transferId: "", balance: before };
    const transfer = this.#move(
      tx,
      "PAYMENT_REFUND",
      "CREDITS",
      locked.credits,
      locked.system(SYSTEM.payments, "CREDITS"),
      {
        type: "posted",
        amount: taken,
      },
      { userRef: command.userRef, reference: command.reference },
    );
    this.#balanceChanged(tx, command.userRef, locked, "payment_refund");
    const after = balanceOf(locked);
    this.#lowBalance.notice((event) => recordEvent(tx, event, this.#now()), locked.credits, {
      before,
      after,
      cause: "payment_refund",
    });
    return { takenCredits: taken, transferId: transfer.id, balance: after };
  }

  /** An admin's low-balance threshold for one user (null: back to the configured default). */
  async setLowBalanceThreshold(command: SetLowBalanceThresholdCommand): Promise<LowBalanceThresholdResult> {
    return this.db.transaction(async (tx) => {
      const locked = await this.accounts.lock(tx, command.userRef, []);
      const spec = {
        name: "SetLowBalanceThreshold",
        key: callerKey(command.idempotencyKey),
        request: command,
      };
      return runCommand(
        entityAnswerBook(tx, () => this.#now()),
        spec,
        () => this.#lowBalance.setThreshold(locked, command.thresholdCredits),
      );
    });
  }

  /** Applies one transfer to two locked accounts and records it with the balances after it. */
  #move(
    tx: EntityManager,
    kind: TransferKind,
    asset: AssetCode,
    debit: AccountState,
    credit: AccountState,
    movement: Movement,
    meta: TransferMeta,
  ): LedgerTransfer {
    const transfer = moveValue(kind, asset, debit, credit, movement, meta, this.#now());
    return tx.create(LedgerTransfer, { ...transfer, lots: storedShares(transfer.lots) });
  }

  /** The cold paths' way of booking lot expiries (entities are tracked by the ORM). */
  #ormBook(tx: EntityManager): LotBook {
    return {
      now: this.#now(),
      move: (kind, asset, debit, credit, movement, meta) =>
        this.#move(tx, kind, asset, debit, credit, movement, meta),
      announce: (event) => recordEvent(tx, event, this.#now()),
      observe: (effect) => recordMoneyEffect(tx, effect, SYSTEM_SCOPE),
      lotsChanged: () => undefined,
    };
  }

  /** A user's lots that are active or still hold value (the user's accounts must be locked). */
  async #liveLots(em: EntityManager, userRef: string): Promise<LotState[]> {
    return em.find(CreditLot, { userRef, $or: [{ state: "ACTIVE" }, { reserved: { $gt: 0n } }] });
  }

  /** The lots that shares name (the user's accounts must be locked). */
  async #lotsByIds(em: EntityManager, shares: readonly LotShare[]): Promise<LotState[]> {
    if (shares.length === 0) return [];
    const lots = await em.find(CreditLot, { id: { $in: shares.map((share) => share.lotId) } });
    if (lots.length !== new Set(shares.map((share) => share.lotId)).size)
      throw new Error("ledger invariant: a transfer names a lot that does not exist");
    return lots;
  }

  /**
   * billing.balance.changed, for changes the user did not just ask for and pay with: value that
   * arrives (grants, top-ups, refunds) or returns (released and expired holds), and payment refunds.
   * Charges, holds and commits are answered to their caller and announced by the job's own events,
   * so they do not cost an outbox row each.
   */
  #balanceChanged(tx: EntityManager, userRef: string, locked: LockedAccounts, cause: string): void {
    const balance = balanceOf(locked);
    recordEvent(tx, { kind: "balanceChanged", userRef, cause, ...balance }, this.#now());
  }
}

export type { SystemAccount };
