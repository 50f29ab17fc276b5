// The credits ledger: every command is one transaction that locks the accounts it touches (in id
// order), checks, moves value with immutable transfers, records its idempotency key and its events,
// and commits — or changes nothing.
import { randomUUID } from "node:crypto";
import { LockMode } from "@mikro-orm/postgresql";
import type { Database, EntityManager } from "../db/database.js";
import type { LedgerAccount } from "../db/entities.js";
import {
  type AssetCode,
  type FundingSourceCode,
  LedgerHold,
  LedgerTransfer,
  type TransferKind,
} from "../db/entities.js";
import { findReplay, fingerprint, loadKeys, rememberResult, replayOf } from "../db/idempotency.js";
import type { Clock } from "../domain/clock.js";
import { DomainError } from "../domain/errors.js";
import { recordEvent } from "../outbox/outbox.js";
import { callerScope, SYSTEM_SCOPE } from "../observability/effects.js";
import {
  grantEffects,
  holdResolutionEffect,
  refundEffect,
  spendEffect,
  starterGrantEffect,
} from "../observability/effect-of.js";
import { recordMoneyEffect } from "../observability/record.js";
import {
  AccountDirectory,
  accountNotFound,
  balanceOf,
  type LockedAccounts,
  SYSTEM,
  type SystemAccount,
} from "./accounts.js";
import { Batcher, type Outcome } from "./batcher.js";
import { applyMovement, available, type Movement } from "./balances.js";
import { chooseFunding } from "./funding.js";
import { assertHoldExpected, type HoldExpectation } from "./hold-expectation.js";
import type { Balance, ChargeResult, GrantResult, HoldResult, HoldView, RefundResult } from "./types.js";

export interface LedgerConfig {
  /** Operation → price in credits. */
  prices: ReadonlyMap<string, bigint>;
  starterFreeOperations: bigint;
  /** Shards per system account (contention on hot system rows divided by this). */
  systemShards: number;
}

export const HOLD_TIMEOUT_MIN_MS = 1_000;
export const HOLD_TIMEOUT_MAX_MS = 24 * 60 * 60 * 1_000;
export const HOLD_TIMEOUT_DEFAULT_MS = 15 * 60 * 1_000;

const FUNDING_ASSET: Readonly<Record<Exclude<FundingSourceCode, "NONE">, AssetCode>> = {
  FREE_OPERATION: "FREE_OPERATIONS",
  CREDITS: "CREDITS",
};

interface TransferMeta {
  userRef: string;
  operation?: string | undefined;
  holdId?: string | undefined;
  jobId?: string | undefined;
  reference?: string | undefined;
  reason?: string | undefined;
  pendingId?: string | undefined;
  refundOf?: string | undefined;
}

export interface ChargeCommand {
  userRef: string;
  operation: string;
  idempotencyKey: string;
  reference: string;
}

export interface ReserveCommand {
  userRef: string;
  operation: string;
  idempotencyKey: string;
  timeoutMs: number;
  jobId: string;
}

/** What resolving holds locked: users' accounts, and the counterparty of each hold's pending transfer. */
interface ResolutionLocks {
  accounts: Map<string, LockedAccounts>;
  counterpartyOf: (hold: LedgerHold) => bigint;
}

/** A commit or a release of one hold; `decide` validates the request against the locked hold. */
export interface Resolution {
  holdId: string;
  /** Checked first, on the locked hold: a mismatch is refused before anything else is looked at. */
  expected?: HoldExpectation | undefined;
  /** The caller's scope, captured at submit (a batch resolves many callers' holds together). */
  scope?: string;
  decide: (hold: LedgerHold) => { kind: "post"; amount: bigint } | { kind: "void"; reason: string };
}

/** `scope`: the caller's, captured at submit (a batch runs many callers' commands together). */
export type SpendCommand = (
  { type: "charge"; command: ChargeCommand } | { type: "reserve"; command: ReserveCommand }
) & {
  scope?: string;
};
export type SpendOutcome = Outcome<ChargeResult | HoldResult>;

/** Spending commands lock the user's accounts and the revenue shards of both assets. */
const SPENDING_SYSTEMS = [
  { name: SYSTEM.revenue, asset: "CREDITS" },
  { name: SYSTEM.revenue, asset: "FREE_OPERATIONS" },
] as const;

/** Group commit bounds: commands per transaction, and transactions running at once. */
const SPEND_BATCH_MAX = 64;
const SPEND_BATCHES_IN_FLIGHT = 8;

export class Ledger {
  readonly #spending: Batcher<SpendCommand, ChargeResult | HoldResult>;
  readonly #resolutions: Batcher<Resolution, HoldResult>;

  private constructor(
    readonly db: Database,
    readonly config: LedgerConfig,
    readonly clock: Clock,
    readonly accounts: AccountDirectory,
  ) {
    this.#spending = new Batcher({
      maxBatch: SPEND_BATCH_MAX,
      maxInFlight: SPEND_BATCHES_IN_FLIGHT,
      run: (batch) => this.spendBatch(batch),
    });
    this.#resolutions = new Batcher({
      maxBatch: SPEND_BATCH_MAX,
      maxInFlight: SPEND_BATCHES_IN_FLIGHT,
      run: (batch) => this.resolveBatch(batch),
    });
  }

  static async create(db: Database, config: LedgerConfig, clock: Clock): Promise<Ledger> {
    return new Ledger(db, config, clock, await AccountDirectory.load(db, config.systemShards));
  }

  priceOf(operation: string): bigint {
    const price = this.config.prices.get(operation);
    if (price === undefined) {
      throw new DomainError(
        "UNKNOWN_OPERATION",
        `unknown operation '${operation}'; known: ${[...this.config.prices.keys()].join(", ")}`,
        { metadata: { operation } },
      );
    }
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

  async getBalance(userRef: string): Promise<Balance> {
    return balanceOf(await this.accounts.read(this.db.reader(), userRef));
  }

  /** One-step debit: a free operation, else credits; nothing for an operation priced 0. */
  async charge(command: ChargeCommand): Promise<ChargeResult> {
    this.priceOf(command.operation);
    return (await this.#spending.submit({ type: "charge", command, scope: callerScope() })) as ChargeResult;
  }

  /** Holds the price of an operation until Commit, Release or the timeout. */
  async reserve(command: ReserveCommand): Promise<HoldResult> {
    this.priceOf(command.operation);
    return (await this.#spending.submit({ type: "reserve", command, scope: callerScope() })) as HoldResult;
  }

  /**
   * Charges and reserves, several at once in one transaction (group commit): one lock of all their
   * accounts, one read of their idempotency keys, one write of everything. Each command still gets
   * its own outcome; a refused one changes nothing. Under light load a batch holds one command.
   */
  async spendBatch(batch: readonly SpendCommand[]): Promise<SpendOutcome[]> {
    return this.db.transaction(async (tx) => {
      const locked = await this.accounts.lockMany(
        tx,
        batch.map((item) => ({ userRef: item.command.userRef, systems: SPENDING_SYSTEMS })),
      );
      const keys = await loadKeys(
        tx,
        batch.map((item) => item.command.idempotencyKey),
      );
      return batch.map((item): SpendOutcome => {
        const { command } = item;
        const name = item.type === "charge" ? "Charge" : "Reserve";
        try {
          const accounts = locked.get(command.userRef);
          if (accounts === undefined) throw accountNotFound(command.userRef);
          const requestFingerprint = fingerprint(name, command);
          const replay = replayOf<ChargeResult | HoldResult>(
            keys.get(command.idempotencyKey),
            command.idempotencyKey,
            name,
            requestFingerprint,
          );
          if (replay !== undefined) return { ok: true, value: replay };
          const result =
            item.type === "charge"
              ? this.#chargeLocked(tx, accounts, item.command)
              : this.#reserveLocked(tx, accounts, item.command);
          // Later commands of this batch under the same key see this one.
          keys.set(
            command.idempotencyKey,
            rememberResult(tx, command.idempotencyKey, name, requestFingerprint, result, this.clock.now()),
          );
          recordMoneyEffect(tx, spendEffect(command, result), item.scope);
          return { ok: true, value: result };
        } catch (error) {
          if (error instanceof DomainError) return { ok: false, error };
          throw error;
        }
      });
    });
  }

  #chargeLocked(tx: EntityManager, locked: LockedAccounts, command: ChargeCommand): ChargeResult {
    const price = this.priceOf(command.operation);
    const funding = this.#fund(locked, command.operation, price);
    let transferId = "";
    if (funding.source !== "NONE") {
      const asset = FUNDING_ASSET[funding.source];
      transferId = this.#move(
        tx,
        "CHARGE",
        asset,
        locked.user(asset),
        locked.system(SYSTEM.revenue, asset),
        {
          type: "posted",
          amount: funding.amount,
        },
        { userRef: command.userRef, operation: command.operation, reference: command.reference },
      ).id;
    }
    return {
      transferId,
      fundedBy: funding.source,
      amountCredits: funding.source === "CREDITS" ? funding.amount : 0n,
      amountFreeOperations: funding.source === "FREE_OPERATION" ? 1n : 0n,
      priceCredits: price,
      balance: balanceOf(locked),
    };
  }

  #reserveLocked(tx: EntityManager, locked: LockedAccounts, command: ReserveCommand): HoldResult {
    const price = this.priceOf(command.operation);
    const funding = this.#fund(locked, command.operation, price);
    const now = this.clock.now();
    const holdId = randomUUID();
    let pendingTransferId: string | null = null;
    if (funding.source !== "NONE") {
      const asset = FUNDING_ASSET[funding.source];
      pendingTransferId = this.#move(
        tx,
        "HOLD",
        asset,
        locked.user(asset),
        locked.system(SYSTEM.revenue, asset),
        {
          type: "pending",
          amount: funding.amount,
        },
        { userRef: command.userRef, operation: command.operation, holdId, jobId: command.jobId },
      ).id;
    }
    const hold = tx.create(LedgerHold, {
      id: holdId,
      userRef: command.userRef,
      operation: command.operation,
      jobId: command.jobId === "" ? null : command.jobId,
      fundedBy: funding.source,
      amount: funding.amount,
      priceCredits: price,
      state: "PENDING",
      pendingTransferId,
      expiresAt: new Date(now.getTime() + command.timeoutMs),
      createdAt: now,
    });
    return { hold: holdView(hold), balance: balanceOf(locked) };
  }

  /** Posts a pending hold (all of it, or `amount` of it; the rest returns). */
  async commit(command: {
    holdId: string;
    amount: bigint | undefined;
    expected?: HoldExpectation | undefined;
  }): Promise<HoldResult> {
    return this.#resolutions.submit({
      holdId: command.holdId,
      expected: command.expected,
      scope: callerScope(),
      decide: (hold) => {
        const amount = command.amount ?? hold.amount;
        if (amount < 0n) {
          throw new DomainError("INVALID_FIELD", "amount must not be negative", {
            fieldViolations: [{ field: "amount", description: "must not be negative" }],
          });
        }
        if (amount > hold.amount) {
          throw new DomainError("AMOUNT_EXCEEDS_HOLD", `amount ${amount} exceeds the held ${hold.amount}`, {
            metadata: { held: hold.amount.toString(), requested: amount.toString() },
          });
        }
        if (amount === 0n && hold.amount > 0n) {
          throw new DomainError("INVALID_FIELD", "amount 0 posts nothing: Release the hold instead", {
            fieldViolations: [
              { field: "amount", description: "must be at least 1 (use Release to return everything)" },
            ],
          });
        }
        return { kind: "post", amount };
      },
    });
  }

  /** Voids a pending hold: everything held returns to its source. */
  async release(command: {
    holdId: string;
    reason: string;
    expected?: HoldExpectation | undefined;
  }): Promise<HoldResult> {
    return this.#resolutions.submit({
      holdId: command.holdId,
      expected: command.expected,
      scope: callerScope(),
      decide: () => ({ kind: "void", reason: command.reason }),
    });
  }

  async getHold(holdId: string): Promise<HoldView> {
    const hold = await this.db.reader().findOne(LedgerHold, { id: holdId });
    if (hold === null) throw holdNotFound(holdId);
    return holdView(hold);
  }

  /**
   * Voids up to `limit` holds whose timeout passed. Each hold is expired in its own transaction and
   * claimed with SKIP LOCKED, so several billing instances share the work without waiting on or
   * double-expiring each other. Returns how many it expired.
   */
  async expireDueHolds(limit: number): Promise<number> {
    const due = await this.db
      .reader()
      .find(
        LedgerHold,
        { state: "PENDING", expiresAt: { $lte: this.clock.now() } },
        { fields: ["id"], limit, orderBy: { expiresAt: "asc" } },
      );
    let expired = 0;
    for (const { id } of due) {
      const done = await this.db.transaction(async (tx) => {
        // SKIP LOCKED: a hold another instance (or a Commit) is working on is left to it.
        const hold = await tx.findOne(
          LedgerHold,
          { id, state: "PENDING" },
          { lockMode: LockMode.PESSIMISTIC_PARTIAL_WRITE },
        );
        if (hold === null || hold.expiresAt > this.clock.now()) return false;
        await this.#expire(tx, hold);
        return true;
      });
      if (done) expired++;
    }
    return expired;
  }

  /** Reverses a posted charge (by transfer or by committed hold) to the source that paid it. */
  async refund(command: {
    target: { transferId: string } | { holdId: string };
    reason: string;
    idempotencyKey: string;
  }): Promise<RefundResult> {
    const requestFingerprint = fingerprint("Refund", command);
    return this.db.transaction(async (tx) => {
      let hold: LedgerHold | null = null;
      let original: LedgerTransfer | null;
      if ("holdId" in command.target) {
        hold = await tx.findOne(
          LedgerHold,
          { id: command.target.holdId },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (hold === null) throw holdNotFound(command.target.holdId);
        original =
          hold.resolutionTransferId == null
            ? null
            : await tx.findOne(LedgerTransfer, { id: hold.resolutionTransferId });
      } else {
        original = await tx.findOne(LedgerTransfer, { id: command.target.transferId });
        if (original === null) {
          throw new DomainError("TRANSFER_NOT_FOUND", `no transfer ${command.target.transferId}`, {
            metadata: { transfer_id: command.target.transferId },
          });
        }
      }
      const userRef = hold?.userRef ?? original?.userRef ?? "";
      const asset = original?.asset ?? "CREDITS";
      const locked = await this.accounts.lock(tx, userRef, [{ name: SYSTEM.revenue, asset }]);
      const replay = await findReplay<RefundResult>(tx, command.idempotencyKey, "Refund", requestFingerprint);
      if (replay !== undefined) return replay;
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
          {
            metadata: { refund_transfer_id: already.id },
          },
        );
      }
      hold ??= original.holdId == null ? null : await tx.findOne(LedgerHold, { id: original.holdId });
      const refund = this.#move(
        tx,
        "REFUND",
        asset,
        locked.system(SYSTEM.revenue, asset),
        locked.user(asset),
        {
          type: "posted",
          amount: original.amount,
        },
        {
          userRef,
          operation: original.operation ?? undefined,
          holdId: original.holdId ?? undefined,
          jobId: original.jobId ?? undefined,
          reason: command.reason,
          refundOf: original.id,
        },
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
      rememberResult(tx, command.idempotencyKey, "Refund", requestFingerprint, result, this.clock.now());
      recordMoneyEffect(tx, refundEffect(original, command.idempotencyKey, result));
      return result;
    });
  }

  /** Operator credit of credits and/or free operations. */
  async grant(command: {
    userRef: string;
    amountCredits: bigint;
    freeOperations: bigint;
    reason: string;
    idempotencyKey: string;
  }): Promise<GrantResult> {
    const requestFingerprint = fingerprint("Grant", command);
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
      const replay = await findReplay<GrantResult>(tx, command.idempotencyKey, "Grant", requestFingerprint);
      if (replay !== undefined) return replay;
      const transferIds = parts.map(
        (part) =>
          this.#move(
            tx,
            "GRANT",
            part.asset,
            locked.system(SYSTEM.issuance, part.asset),
            locked.user(part.asset),
            {
              type: "posted",
              amount: part.amount,
            },
            { userRef: command.userRef, reason: command.reason },
          ).id,
      );
      this.#balanceChanged(tx, command.userRef, locked, "grant");
      const result: GrantResult = { transferIds, balance: balanceOf(locked) };
      rememberResult(tx, command.idempotencyKey, "Grant", requestFingerprint, result, this.clock.now());
      for (const effect of grantEffects(command, parts, transferIds)) recordMoneyEffect(tx, effect);
      return result;
    });
  }

  /**
   * Credits bought with a payment, inside the caller's transaction (the payment's status change),
   * so the credit and the status commit together or not at all.
   */
  async creditTopUp(
    tx: EntityManager,
    command: { userRef: string; credits: bigint; paymentId: string },
  ): Promise<{ transferId: string; balance: Balance }> {
    const locked = await this.accounts.lock(tx, command.userRef, [
      { name: SYSTEM.payments, asset: "CREDITS" },
    ]);
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
    tx: EntityManager,
    command: {
      userRef: string;
      credits: bigint;
      paymentId: string;
      reference: string;
      atMostAvailable: boolean;
    },
  ): Promise<{ takenCredits: bigint; transferId: string; balance: Balance }> {
    const locked = await this.accounts.lock(tx, command.userRef, [
      { name: SYSTEM.payments, asset: "CREDITS" },
    ]);
    const availableCredits = available(locked.credits);
    if (command.credits > availableCredits && !command.atMostAvailable) {
      throw new DomainError(
        "CREDITS_ALREADY_SPENT",
        `the user has ${availableCredits} credits available, fewer than the ${command.credits} to take back`,
        {
          metadata: {
            credits_available: availableCredits.toString(),
            credits_to_take: command.credits.toString(),
          },
        },
      );
    }
    const taken = command.credits < availableCredits ? command.credits : availableCredits;
    if (taken === 0n) return { takenCredits: 0n, transferId: "", balance: balanceOf(locked) };
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
    return { takenCredits: taken, transferId: transfer.id, balance: balanceOf(locked) };
  }

  // ---- internals ----

  #fund(locked: LockedAccounts, operation: string, price: bigint) {
    const creditsAvailable = available(locked.credits);
    const freeOperationsAvailable = available(locked.freeOperations);
    const funding = chooseFunding(price, {
      credits: creditsAvailable,
      freeOperations: freeOperationsAvailable,
    });
    if (funding === undefined) {
      throw new DomainError(
        "INSUFFICIENT_FUNDS",
        `${operation} costs ${price} credits; available: ${creditsAvailable} credits and ${freeOperationsAvailable} free operations`,
        {
          insufficientFunds: { operation, priceCredits: price, creditsAvailable, freeOperationsAvailable },
          metadata: {
            operation,
            price_credits: price.toString(),
            credits_available: creditsAvailable.toString(),
            free_operations_available: freeOperationsAvailable.toString(),
          },
        },
      );
    }
    return funding;
  }

  /**
   * Commits and releases, several at once in one transaction (group commit, as for spending): the
   * holds are locked in id order, then the accounts of those that move value, in id order. Each
   * resolution keeps its own outcome; a hold found past its timeout is expired (that is kept) and
   * the resolution refused with HOLD_EXPIRED.
   */
  async resolveBatch(batch: readonly Resolution[]): Promise<Outcome<HoldResult>[]> {
    return this.db.transaction(async (tx) => {
      const holds = await tx.find(
        LedgerHold,
        { id: { $in: [...new Set(batch.map((r) => r.holdId))] } },
        { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: "asc" } },
      );
      const locks = await this.#lockForResolution(tx, holds);
      return batch.map((resolution): Outcome<HoldResult> => {
        try {
          const hold = holds.find((h) => h.id === resolution.holdId);
          if (hold === undefined) throw holdNotFound(resolution.holdId);
          assertHoldExpected(hold, resolution.expected);
          const accounts = locks.accounts.get(hold.userRef);
          if (accounts === undefined)
            throw new Error(`ledger invariant: hold ${hold.id} of a user without accounts`);
          return {
            ok: true,
            value: this.#resolveLocked(tx, hold, accounts, locks.counterpartyOf, resolution),
          };
        } catch (error) {
          if (error instanceof DomainError) return { ok: false, error };
          throw error;
        }
      });
    });
  }

  /** Resolves one locked hold: the same resolution again answers the same, another is refused. */
  #resolveLocked(
    tx: EntityManager,
    hold: LedgerHold,
    locked: LockedAccounts,
    counterpartyOf: ResolutionLocks["counterpartyOf"],
    { decide, scope }: Resolution,
  ): HoldResult {
    if (hold.state === "PENDING" && hold.expiresAt <= this.clock.now()) {
      // Past its timeout: the service expires it now (kept when the batch commits), then refuses.
      this.#expireLocked(tx, hold, locked, counterpartyOf);
      throw holdExpired(hold.id);
    }
    const decision = decide(hold);
    if (hold.state !== "PENDING") {
      const same =
        (decision.kind === "post" && hold.state === "POSTED" && hold.postedAmount === decision.amount) ||
        (decision.kind === "void" && hold.state === "VOIDED");
      if (!same) throw resolvedAlready(hold);
      return { hold: holdView(hold), balance: balanceOf(locked) };
    }
    const now = this.clock.now();
    if (!movesValue(hold)) {
      hold.state = decision.kind === "post" ? "POSTED" : "VOIDED";
      hold.postedAmount = decision.kind === "post" ? 0n : null;
      hold.resolutionReason = decision.kind === "void" ? decision.reason : null;
      hold.resolvedAt = now;
      recordMoneyEffect(tx, holdResolutionEffect(hold), scope);
      return { hold: holdView(hold), balance: balanceOf(locked) };
    }
    const asset = FUNDING_ASSET[hold.fundedBy];
    const meta: TransferMeta = {
      userRef: hold.userRef,
      operation: hold.operation,
      holdId: hold.id,
      jobId: hold.jobId ?? undefined,
      pendingId: hold.pendingTransferId ?? undefined,
    };
    const debit = locked.user(asset);
    const credit = locked.account(counterpartyOf(hold));
    let transfer: LedgerTransfer;
    if (decision.kind === "post") {
      transfer = this.#move(
        tx,
        "HOLD_POSTED",
        asset,
        debit,
        credit,
        {
          type: "post_pending",
          amount: decision.amount,
          pendingAmount: hold.amount,
        },
        meta,
      );
      hold.state = "POSTED";
      hold.postedAmount = decision.amount;
    } else {
      transfer = this.#move(
        tx,
        "HOLD_VOIDED",
        asset,
        debit,
        credit,
        { type: "void_pending", amount: hold.amount },
        {
          ...meta,
          reason: decision.reason,
        },
      );
      hold.state = "VOIDED";
      hold.resolutionReason = decision.reason;
    }
    hold.resolutionTransferId = transfer.id;
    hold.resolvedAt = now;
    recordMoneyEffect(tx, holdResolutionEffect(hold), scope);
    // Spending the caller asked for is answered to the caller; giving value back is announced.
    if (decision.kind === "void") this.#balanceChanged(tx, hold.userRef, locked, "hold_voided");
    return { hold: holdView(hold), balance: balanceOf(locked) };
  }

  async #expire(tx: EntityManager, hold: LedgerHold): Promise<void> {
    const locks = await this.#lockForResolution(tx, [hold]);
    const locked = locks.accounts.get(hold.userRef);
    if (locked === undefined) throw new Error(`ledger invariant: hold ${hold.id} of a user without accounts`);
    this.#expireLocked(tx, hold, locked, locks.counterpartyOf);
  }

  /**
   * Locks what resolving these (locked) holds touches: each user's accounts and, for a hold that
   * moves value, the system account its pending transfer credited — a pending amount is posted or
   * voided on the accounts that hold it.
   */
  async #lockForResolution(tx: EntityManager, holds: readonly LedgerHold[]): Promise<ResolutionLocks> {
    const pendingIds = holds.flatMap((hold) =>
      movesValue(hold) && hold.pendingTransferId != null ? [hold.pendingTransferId] : [],
    );
    const pending =
      pendingIds.length === 0
        ? []
        : await tx.find(LedgerTransfer, { id: { $in: pendingIds } }, { fields: ["id", "creditAccountId"] });
    const counterpartyOfTransfer = new Map(pending.map((t) => [t.id, t.creditAccountId]));
    const counterparty = new Map<string, bigint>();
    for (const hold of holds) {
      const id =
        hold.pendingTransferId == null ? undefined : counterpartyOfTransfer.get(hold.pendingTransferId);
      if (movesValue(hold) && id !== undefined) counterparty.set(hold.id, id);
    }
    const accounts = await this.accounts.lockMany(
      tx,
      holds.map((hold) => ({
        userRef: hold.userRef,
        systems: [],
        pinned: [...(counterparty.has(hold.id) ? [counterparty.get(hold.id) ?? 0n] : [])],
      })),
    );
    return {
      accounts,
      counterpartyOf: (hold) => {
        const id = counterparty.get(hold.id);
        if (id === undefined)
          throw new Error(`ledger invariant: no pending transfer counterparty for hold ${hold.id}`);
        return id;
      },
    };
  }

  /** Voids a pending hold whose timeout passed, records it as expired and announces hold.expired. */
  #expireLocked(
    tx: EntityManager,
    hold: LedgerHold,
    locked: LockedAccounts,
    counterpartyOf: ResolutionLocks["counterpartyOf"],
  ): void {
    const now = this.clock.now();
    if (movesValue(hold)) {
      const asset = FUNDING_ASSET[hold.fundedBy];
      hold.resolutionTransferId = this.#move(
        tx,
        "HOLD_EXPIRED",
        asset,
        locked.user(asset),
        locked.account(counterpartyOf(hold)),
        {
          type: "void_pending",
          amount: hold.amount,
        },
        {
          userRef: hold.userRef,
          operation: hold.operation,
          holdId: hold.id,
          jobId: hold.jobId ?? undefined,
          pendingId: hold.pendingTransferId ?? undefined,
          reason: "expired",
        },
      ).id;
      this.#balanceChanged(tx, hold.userRef, locked, "hold_expired");
    }
    hold.state = "EXPIRED";
    hold.resolutionReason = "expired";
    hold.resolvedAt = now;
    recordMoneyEffect(tx, holdResolutionEffect(hold), SYSTEM_SCOPE);
    recordEvent(
      tx,
      hold.userRef,
      {
        case: "holdExpired",
        value: {
          holdId: hold.id,
          operation: hold.operation,
          jobId: hold.jobId ?? "",
          amountCredits: hold.fundedBy === "CREDITS" ? hold.amount : 0n,
          amountFreeOperations: hold.fundedBy === "FREE_OPERATION" ? hold.amount : 0n,
        },
      },
      now,
    );
  }

  /** Applies one transfer to two locked accounts and records it with the balances after it. */
  #move(
    tx: EntityManager,
    kind: TransferKind,
    asset: AssetCode,
    debit: LedgerAccount,
    credit: LedgerAccount,
    movement: Movement,
    meta: TransferMeta,
  ): LedgerTransfer {
    if (debit.asset !== asset || credit.asset !== asset)
      throw new Error("ledger invariant: transfer between assets");
    applyMovement(debit, credit, movement);
    for (const account of [debit, credit]) {
      // The database CHECK refuses this too; failing here first gives a clear error and trace.
      if (account.kind === "USER" && available(account) < 0n) {
        throw new Error(`ledger invariant: user account ${account.id} would go negative`);
      }
    }
    return tx.create(LedgerTransfer, {
      id: randomUUID(),
      kind,
      asset,
      debitAccountId: debit.id,
      creditAccountId: credit.id,
      amount: movement.amount,
      pending: movement.type === "pending",
      pendingId: meta.pendingId ?? null,
      refundOf: meta.refundOf ?? null,
      userRef: meta.userRef,
      operation: meta.operation ?? null,
      holdId: meta.holdId ?? null,
      jobId: meta.jobId === "" ? null : (meta.jobId ?? null),
      reference: meta.reference === "" ? null : (meta.reference ?? null),
      reason: meta.reason ?? null,
      debitBalanceAfter: available(debit),
      creditBalanceAfter: available(credit),
      createdAt: this.clock.now(),
    });
  }

  /**
   * billing.balance.changed, for changes the user did not just ask for and pay with: value that
   * arrives (grants, top-ups, refunds) or returns (released and expired holds), and payment refunds.
   * Charges, holds and commits are answered to their caller and announced by the job's own events,
   * so they do not cost an outbox row each.
   */
  #balanceChanged(tx: EntityManager, userRef: string, locked: LockedAccounts, cause: string): void {
    const balance = balanceOf(locked);
    recordEvent(tx, userRef, { case: "balanceChanged", value: { ...balance, cause } }, this.clock.now());
  }
}

/** A pending hold funded by a free operation or credits moves value when resolved; a NONE one does not. */
function movesValue(hold: LedgerHold): hold is LedgerHold & { fundedBy: Exclude<FundingSourceCode, "NONE"> } {
  return hold.fundedBy !== "NONE" && hold.pendingTransferId != null;
}

export function holdView(hold: LedgerHold): HoldView {
  return {
    holdId: hold.id,
    userRef: hold.userRef,
    operation: hold.operation,
    jobId: hold.jobId ?? "",
    state: hold.state,
    fundedBy: hold.fundedBy,
    amountCredits: hold.fundedBy === "CREDITS" ? hold.amount : 0n,
    amountFreeOperations: hold.fundedBy === "FREE_OPERATION" ? hold.amount : 0n,
    postedAmount: hold.postedAmount ?? 0n,
    priceCredits: hold.priceCredits,
    createdAt: hold.createdAt,
    expiresAt: hold.expiresAt,
    resolvedAt: hold.resolvedAt ?? undefined,
    resolutionReason: hold.resolutionReason ?? "",
    postedTransferId: hold.state === "POSTED" ? (hold.resolutionTransferId ?? "") : "",
    refunded: hold.refundTransferId != null,
  };
}

function holdNotFound(holdId: string): DomainError {
  return new DomainError("HOLD_NOT_FOUND", `no hold ${holdId}`, { metadata: { hold_id: holdId } });
}

function holdExpired(holdId: string): DomainError {
  return new DomainError("HOLD_EXPIRED", `hold ${holdId} expired and was voided by the service`, {
    metadata: { hold_id: holdId },
  });
}

function resolvedAlready(hold: LedgerHold): DomainError {
  const metadata = { hold_id: hold.id, state: hold.state };
  switch (hold.state) {
    case "POSTED":
      return new DomainError(
        "HOLD_ALREADY_POSTED",
        `hold ${hold.id} was already committed (${hold.postedAmount ?? 0n})`,
        { metadata },
      );
    case "VOIDED":
      return new DomainError("HOLD_ALREADY_VOIDED", `hold ${hold.id} was already released`, { metadata });
    case "EXPIRED":
      return holdExpired(hold.id);
    case "PENDING":
      throw new Error("ledger invariant: a pending hold is not resolved");
  }
}

export type { SystemAccount };
