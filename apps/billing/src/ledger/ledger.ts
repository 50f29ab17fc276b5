// The credits ledger. Its hot path (Charge, Reserve, Commit, Release, expiry of holds and promo
// lots) runs in batches on the set-based store, two round trips per batch (store/batch-session.ts);
// its cold paths (grants.ts, refunds.ts, top-ups.ts) are one MikroORM transaction each, written
// through store/cold-writes.ts. Every path locks in one order (holds, then accounts, each by id),
// records its idempotency key through the command pipeline, and commits its events with its
// effect — or changes nothing.
import type { Logger } from "@billing/observability";
import { callerKey, entityAnswerBook, runCommand, runCommands, type Outcome } from "../commands/index.js";
import type { Database } from "../db/database.js";
import type { UnitOfWork } from "../domain/unit-of-work.js";
import type { Clock } from "../domain/clock.js";
import { DomainError } from "../domain/errors.js";
import { callerScope, type CallerScope } from "../observability/effects.js";
import { spendEffect } from "./effects.js";
import type { HoldExpectation } from "./rules/hold-expectation.js";
import { AccountDirectory, SYSTEM, type SystemAccount } from "./store/accounts.js";
import { Batcher } from "./batcher.js";
import type { ColdPath } from "./cold-path.js";
import type { LedgerConfig } from "./config.js";
import { grant, type GrantCommand, openAccount } from "./grants.js";
import {
  LowBalance,
  type LowBalanceThresholdResult,
  type SetLowBalanceThresholdCommand,
} from "./low-balance.js";
import { expireUserLots } from "./promo-lots.js";
import { refund, type RefundCommand } from "./refunds.js";
import { type Resolution, expire, resolve } from "./resolutions.js";
import { holdNotFound, unknownOperation } from "./rules/errors.js";
import { LOT_EXPIRING_NOTICE_MS, promoSummary, purchasedAvailable } from "./rules/lots.js";
import { balanceOf, holdView } from "./rules/views.js";
import { charge, type ChargeCommand, reserve, type ReserveCommand, type RevenueShards } from "./spending.js";
import { type BatchDeps, batchDepsOf, type BatchReads, inBatchSession } from "./store/batch-session.js";
import {
  announceExpiringLots,
  dueHoldIds,
  dueLotUsers,
  readAccountsIn,
  readAccountsWithLots,
  readHold,
} from "./store/ledger-reads.js";
import { readStatement } from "./store/statement.js";
import { readBalanceAsOf } from "./store/history.js";
import { verifyHistory } from "./store/history-invariants.js";
import { creditTopUp, purchasedCreditsIn, type TakeBackCommand, takeBackTopUp } from "./top-ups.js";
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

export type { LedgerConfig };

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
  readonly #coldPath: ColdPath;
  readonly #batch: BatchDeps;

  private constructor(
    readonly db: Database,
    readonly config: LedgerConfig,
    /** A clock of the tests'; absent, the database's clock decides time (holds, expiry). */
    readonly testClock: Clock | undefined,
    readonly accounts: AccountDirectory,
    batch: BatchDeps,
  ) {
    this.#batch = batch;
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
      maxInFlight: config.resolutionsInFlight,
      lockKeyOf: (resolution) => resolution.holdId,
      run: (batch) => this.resolveBatch(batch),
    });
    this.#lowBalance = new LowBalance(config.lowBalanceThresholdCredits);
    this.#coldPath = { db, accounts, config, lowBalance: this.#lowBalance, now: () => this.#now() };
  }

  static async create(db: Database, config: LedgerConfig, log: Logger, testClock?: Clock): Promise<Ledger> {
    const accounts = await AccountDirectory.load(db, config.systemShards);
    return new Ledger(db, config, testClock, accounts, await batchDepsOf(db, log, testClock));
  }

  get log(): Logger {
    return this.#batch.log;
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
    return openAccount(this.#coldPath, userRef);
  }

  /** The user's balance inside another context's transaction (ACCOUNT_NOT_FOUND without accounts). */
  async balanceIn(uow: UnitOfWork, userRef: string): Promise<Balance> {
    return balanceOf((await readAccountsIn(uow, this.accounts, userRef)).accounts);
  }

  /** Of the user's available credits, the purchased ones, inside another context's transaction. */
  async purchasedCreditsIn(uow: UnitOfWork, userRef: string): Promise<bigint> {
    return purchasedCreditsIn(this.#coldPath, uow, userRef);
  }

  async getBalance(userRef: string): Promise<Balance> {
    return balanceOf(await this.accounts.read(this.db.reader(), userRef));
  }

  /** The balance now with its promo part: purchased vs promo credits, the lots and the next expiry. */
  async balanceDetails(userRef: string): Promise<BalanceDetails> {
    const { accounts, lots } = await readAccountsWithLots(this.db, this.accounts, userRef);
    const summary = promoSummary(lots);
    return {
      balance: balanceOf(accounts),
      creditsPromo: summary.promo,
      creditsPurchased: purchasedAvailable(accounts.credits, lots),
      nextExpiry: summary.nextExpiry,
      promoLots: summary.lots,
    };
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
    return inBatchSession(this.#batch, reads, async (session) => {
      // A lot that is due is expired before anything is spent (kept even if every command is refused).
      for (const userRef of reads.userRefs) expireUserLots(session, userRef, expiryId, this.#lowBalance);
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
    });
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
    const hold = await readHold(this.db, holdId);
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
    return inBatchSession(this.#batch, reads, (session) =>
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
    );
  }

  /**
   * Voids up to `limit` holds whose timeout passed, in one transaction. Due holds are claimed with
   * SKIP LOCKED, so several billing instances share the work without waiting on or double-expiring
   * each other; "due" is decided by the database's clock. Returns how many it expired.
   */
  async expireDueHolds(limit: number): Promise<number> {
    const due = await dueHoldIds(this.db, this.testClock?.now() ?? null, limit);
    if (due.length === 0) return 0;
    const expiryId = this.accounts.systemId(SYSTEM.expired, "CREDITS", this.accounts.nextShard());
    const reads: BatchReads = {
      holdIds: due,
      userRefs: [],
      systemAccountIds: [expiryId],
      keys: [],
      skipLocked: true,
    };
    return inBatchSession(this.#batch, reads, (session) => {
      let expired = 0;
      for (const hold of session.holds.values()) {
        if (hold.state !== "PENDING" || hold.expiresAt > session.now) continue;
        expire(session, hold, expiryId);
        expired++;
      }
      return Promise.resolve(expired);
    });
  }

  /**
   * Expires the remainder of up to `limit` promo lots whose expiry passed ("due" by the database's
   * clock), in one batch session: the users' accounts are locked first, so several billing instances
   * (or a charge that reaches a due lot first) never expire a lot twice. Returns how many users'
   * lots it looked at.
   */
  async expireDueLots(limit: number): Promise<number> {
    const due = await dueLotUsers(this.db, this.testClock?.now() ?? null, limit);
    if (due.length === 0) return 0;
    const expiryId = this.accounts.systemId(SYSTEM.expired, "CREDITS", this.accounts.nextShard());
    const reads: BatchReads = {
      holdIds: [],
      userRefs: due,
      systemAccountIds: [expiryId],
      keys: [],
    };
    return inBatchSession(this.#batch, reads, (session) => {
      for (const userRef of reads.userRefs) expireUserLots(session, userRef, expiryId, this.#lowBalance);
      return Promise.resolve(reads.userRefs.length);
    });
  }

  /**
   * Announces billing.credits.expiring, once per lot, for up to `limit` lots with credits left that
   * expire within a day. Claimed with SKIP LOCKED and flagged in the same transaction as the outbox
   * row, so several instances never announce a lot twice. Returns how many it announced.
   */
  async announceExpiringLots(limit: number): Promise<number> {
    return announceExpiringLots(
      this.db,
      this.testClock?.now() ?? null,
      () => this.#now(),
      LOT_EXPIRING_NOTICE_MS,
      limit,
    );
  }

  /** Reverses a posted charge (by transfer or by committed hold) to the source that paid it. */
  async refund(command: RefundCommand): Promise<RefundResult> {
    return refund(this.#coldPath, command);
  }

  /** Operator credit of credits and/or free operations; with `promo`, the credits are a promo lot. */
  async grant(command: GrantCommand): Promise<GrantResult> {
    return grant(this.#coldPath, command);
  }

  /** Credits bought with a payment, inside the payment's transaction. */
  async creditTopUp(
    uow: UnitOfWork,
    command: { userRef: string; credits: bigint; paymentId: string },
  ): Promise<{ transferId: string; balance: Balance }> {
    return creditTopUp(this.#coldPath, uow, command);
  }

  /** Takes back (purchased) credits of a refunded payment, inside the payment's transaction. */
  async takeBackTopUp(
    uow: UnitOfWork,
    command: TakeBackCommand,
  ): Promise<{ takenCredits: bigint; transferId: string; balance: Balance }> {
    return takeBackTopUp(this.#coldPath, uow, command);
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
}

export type { SystemAccount };
