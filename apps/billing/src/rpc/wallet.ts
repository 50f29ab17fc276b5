// WalletService handlers: validate, call the ledger, map the answer to proto. Nothing else.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate, type TimestampSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  Asset,
  FundingSource,
  type HoldSchema,
  HoldState,
  TransactionKind,
  type WalletService,
} from "@billing/proto/billing/v1/wallet_pb";
import type { AssetCode, FundingSourceCode, HoldStateCode, TransferKind } from "../domain/ledger-codes.js";
import {
  HOLD_TIMEOUT_DEFAULT_MS,
  HOLD_TIMEOUT_MAX_MS,
  HOLD_TIMEOUT_MIN_MS,
  type HoldExpectation,
  type HoldView,
  type InvariantCheck,
  type Ledger,
  LOT_PRIORITY_MAX,
  lotAvailable,
  LOW_BALANCE_THRESHOLD_MAX_CREDITS,
  type Micros,
  PAGE_SIZE_MAX,
} from "../ledger/index.js";
import { validate, type Validator } from "./validate.js";

export interface WalletDeps {
  readonly ledger: Ledger;
  readonly invariantChecks: readonly InvariantCheck[];
}

/** `deps` is read on each call: it becomes available once the database is ready. */
export function walletService(deps: WalletDeps): ServiceImpl<typeof WalletService> {
  return {
    async openAccount(request) {
      const userRef = validate((v) => v.userRef("user_ref", request.userRef));
      const { created, balance } = await deps.ledger.openAccount(userRef);
      return { userRef, created, balance: balance };
    },

    async getBalance(request) {
      const { userRef, asOf } = validate((v) => ({
        userRef: v.userRef("user_ref", request.userRef),
        asOf: v.instant("as_of", request.asOf),
      }));
      // The promo part always describes the account now (a lot's history is not kept per instant).
      const details = await deps.ledger.balanceDetails(userRef);
      const balance = asOf === undefined ? details.balance : await deps.ledger.balanceAsOf(userRef, asOf);
      return {
        userRef,
        ...balance,
        creditsPurchased: details.creditsPurchased,
        creditsPromo: details.creditsPromo,
        ...(details.nextExpiry === undefined
          ? {}
          : {
              nextExpiry: {
                amountCredits: details.nextExpiry.amount,
                at: timestampFromDate(details.nextExpiry.at),
              },
            }),
        promoLots: details.promoLots.map((lot) => ({
          lotId: lot.id,
          creditsAvailable: lotAvailable(lot),
          creditsReserved: lot.reserved,
          creditsGranted: lot.grantedCredits,
          priority: lot.priority,
          expiresAt: timestampFromDate(lot.expiresAt),
          reason: lot.reason,
          grantedAt: timestampFromDate(lot.createdAt),
        })),
      };
    },

    getPriceList() {
      return {
        prices: [...deps.ledger.config.prices].map(([operation, priceCredits]) => ({
          operation,
          priceCredits,
          freeOperationEligible: priceCredits > 0n,
        })),
        starterFreeOperations: deps.ledger.config.starterFreeOperations,
      };
    },

    async charge(request, context) {
      const command = validate((v) => ({
        userRef: v.userRef("user_ref", request.userRef),
        operation: v.name("operation", request.operation),
        idempotencyKey: v.idempotencyKey("idempotency_key", request.idempotencyKey),
        reference: v.text("reference", request.reference, { max: 128, required: false }),
      }));
      // A call whose caller has gone (deadline, cancel) is dropped before it runs.
      const result = await deps.ledger.charge(command, context.signal);
      return {
        transferId: result.transferId,
        fundedBy: FUNDING[result.fundedBy],
        amountCredits: result.amountCredits,
        amountFreeOperations: result.amountFreeOperations,
        priceCredits: result.priceCredits,
        balanceAfter: result.balance,
      };
    },

    async reserve(request, context) {
      const command = validate((v) => {
        const timeoutMs =
          request.timeout === undefined
            ? HOLD_TIMEOUT_DEFAULT_MS
            : Number(request.timeout.seconds) * 1000 + Math.floor(request.timeout.nanos / 1_000_000);
        v.check(
          timeoutMs >= HOLD_TIMEOUT_MIN_MS && timeoutMs <= HOLD_TIMEOUT_MAX_MS,
          "timeout",
          "must be between 1s and 24h",
        );
        return {
          userRef: v.userRef("user_ref", request.userRef),
          operation: v.name("operation", request.operation),
          idempotencyKey: v.idempotencyKey("idempotency_key", request.idempotencyKey),
          timeoutMs,
          jobId: v.text("job_id", request.jobId, { max: 128, required: false }),
        };
      });
      const result = await deps.ledger.reserve(command, context.signal);
      return { hold: toHold(result.hold), balanceAfter: result.balance };
    },

    async commit(request, context) {
      const command = validate((v) => ({
        holdId: v.uuid("hold_id", request.holdId),
        // amount_credits wins; the deprecated amount is read only without it.
        amountCredits:
          request.amountCredits !== undefined
            ? v.nonNegative("amount_credits", request.amountCredits)
            : request.amount === undefined
              ? undefined
              : v.nonNegative("amount", request.amount),
        expected: expectation(v, request.expected),
      }));
      const result = await deps.ledger.commit(command, context.signal);
      return { hold: toHold(result.hold), balanceAfter: result.balance };
    },

    async release(request, context) {
      const command = validate((v) => ({
        holdId: v.uuid("hold_id", request.holdId),
        reason: v.text("reason", request.reason, { max: 256, required: false }),
        expected: expectation(v, request.expected),
      }));
      const result = await deps.ledger.release(command, context.signal);
      return { hold: toHold(result.hold), balanceAfter: result.balance };
    },

    async getHold(request) {
      const holdId = validate((v) => v.uuid("hold_id", request.holdId));
      return { hold: toHold(await deps.ledger.getHold(holdId)) };
    },

    async refund(request) {
      const command = validate((v) => {
        const target = request.target;
        let resolved: { transferId: string } | { holdId: string } = { transferId: "" };
        if (target.case === "transferId") resolved = { transferId: v.uuid("transfer_id", target.value) };
        else if (target.case === "holdId") resolved = { holdId: v.uuid("hold_id", target.value) };
        else v.check(false, "target", "set transfer_id or hold_id");
        return {
          target: resolved,
          reason: v.text("reason", request.reason, { max: 256, required: false }),
          idempotencyKey: v.idempotencyKey("idempotency_key", request.idempotencyKey),
        };
      });
      const result = await deps.ledger.refund(command);
      return {
        refundTransferId: result.refundTransferId,
        returnedAs: FUNDING[result.returnedAs],
        amountCredits: result.amountCredits,
        amountFreeOperations: result.amountFreeOperations,
        balanceAfter: result.balance,
      };
    },

    async grant(request) {
      const command = validate((v) => {
        const amountCredits = v.nonNegative("amount_credits", request.amountCredits);
        const freeOperations = v.nonNegative("free_operations", request.freeOperations);
        v.check(
          amountCredits > 0n || freeOperations > 0n,
          "amount_credits",
          "grant at least one credit or free operation",
        );
        v.check(amountCredits <= 1_000_000_000n, "amount_credits", "must be at most 1000000000");
        v.check(freeOperations <= 1_000_000n, "free_operations", "must be at most 1000000");
        const expiresAtMicros = v.instant("expires_at", request.expiresAt);
        const priority = request.priority;
        v.check(priority >= 0 && priority <= LOT_PRIORITY_MAX, "priority", `must be 0-${LOT_PRIORITY_MAX}`);
        if (expiresAtMicros === undefined) {
          v.check(priority === 0, "priority", "orders promo lots only: set expires_at too");
        } else {
          v.check(amountCredits > 0n, "amount_credits", "a promo lot (expires_at) needs credits");
          v.check(
            freeOperations === 0n,
            "free_operations",
            "a promo lot (expires_at) holds credits only: grant free operations without expires_at",
          );
        }
        return {
          userRef: v.userRef("user_ref", request.userRef),
          amountCredits,
          freeOperations,
          reason: v.text("reason", request.reason, { max: 256, required: true }),
          idempotencyKey: v.idempotencyKey("idempotency_key", request.idempotencyKey),
          promo:
            expiresAtMicros === undefined
              ? undefined
              : { expiresAt: new Date(Number(expiresAtMicros / 1000n)), priority },
        };
      });
      const result = await deps.ledger.grant(command);
      return { transferIds: result.transferIds, balanceAfter: result.balance, lotId: result.lotId };
    },

    async setLowBalanceThreshold(request) {
      const command = validate((v) => {
        const threshold = request.thresholdCredits;
        if (threshold !== undefined) {
          v.nonNegative("threshold_credits", threshold);
          v.check(
            threshold <= LOW_BALANCE_THRESHOLD_MAX_CREDITS,
            "threshold_credits",
            `must be at most ${LOW_BALANCE_THRESHOLD_MAX_CREDITS}`,
          );
        }
        return {
          userRef: v.userRef("user_ref", request.userRef),
          thresholdCredits: threshold ?? null,
          idempotencyKey: v.idempotencyKey("idempotency_key", request.idempotencyKey),
        };
      });
      const result = await deps.ledger.setLowBalanceThreshold(command);
      return {
        userRef: command.userRef,
        thresholdCredits: result.thresholdCredits,
        isDefault: result.isDefault,
        balance: result.balance,
      };
    },

    async listTransactions(request) {
      const query = validate((v) => {
        const startMicros = v.instant("start_time", request.startTime);
        const endMicros = v.instant("end_time", request.endTime);
        v.check(
          startMicros === undefined || endMicros === undefined || startMicros <= endMicros,
          "start_time",
          "must not be after end_time",
        );
        return {
          userRef: v.userRef("user_ref", request.userRef),
          pageSize: v.pageSize("page_size", request.pageSize, PAGE_SIZE_MAX),
          pageToken: v.text("page_token", request.pageToken, { max: 128, required: false }),
          filter: {
            startMicros,
            endMicros,
            kinds: v.enumValues("kinds", request.kinds, KIND_OF, STATEMENT_KINDS_MAX),
            operation: request.operation === "" ? "" : v.name("operation", request.operation),
            reference: v.text("reference", request.reference, { max: 256, required: false }),
          },
        };
      });
      const statement = await deps.ledger.statement(query);
      return {
        transactions: statement.entries.map((entry) => ({
          transferId: entry.transferId,
          kind: KIND[entry.kind],
          asset: ASSET[entry.asset],
          amount: entry.amount,
          balanceAfter: entry.balanceAfter,
          operation: entry.operation,
          holdId: entry.holdId,
          jobId: entry.jobId,
          reference: entry.reference,
          createdAt: timestampFromDate(entry.createdAt),
          bookedAt: timestampOfMicros(entry.bookedAtMicros),
          promoLots: entry.lots.map((share) => ({ lotId: share.lotId, amount: share.amount })),
        })),
        nextPageToken: statement.nextPageToken,
      };
    },

    async verifyLedger() {
      return deps.ledger.verify(deps.invariantChecks);
    },
  };
}

export const FUNDING: Readonly<Record<FundingSourceCode, FundingSource>> = {
  NONE: FundingSource.NONE,
  FREE_OPERATION: FundingSource.FREE_OPERATION,
  CREDITS: FundingSource.CREDITS,
};

const HOLD_STATE: Readonly<Record<HoldStateCode, HoldState>> = {
  PENDING: HoldState.PENDING,
  POSTED: HoldState.POSTED,
  VOIDED: HoldState.VOIDED,
  EXPIRED: HoldState.EXPIRED,
};

const KIND: Readonly<Record<TransferKind, TransactionKind>> = {
  STARTER_GRANT: TransactionKind.STARTER_GRANT,
  GRANT: TransactionKind.GRANT,
  CHARGE: TransactionKind.CHARGE,
  HOLD: TransactionKind.HOLD,
  HOLD_POSTED: TransactionKind.HOLD_POSTED,
  HOLD_VOIDED: TransactionKind.HOLD_VOIDED,
  HOLD_EXPIRED: TransactionKind.HOLD_EXPIRED,
  REFUND: TransactionKind.REFUND,
  TOP_UP: TransactionKind.TOP_UP,
  PAYMENT_REFUND: TransactionKind.PAYMENT_REFUND,
  CREDITS_EXPIRED: TransactionKind.CREDITS_EXPIRED,
};

/** The ledger's kind of each TransactionKind a statement may filter on (UNSPECIFIED is none). */
const KIND_OF: ReadonlyMap<number, TransferKind> = new Map(
  Object.entries(KIND).map(([code, kind]) => [kind, code as TransferKind]),
);
const STATEMENT_KINDS_MAX = 16;

function timestampOfMicros(micros: Micros): MessageInitShape<typeof TimestampSchema> {
  const seconds = micros >= 0n ? micros / 1_000_000n : -((-micros + 999_999n) / 1_000_000n);
  return { seconds, nanos: Number(micros - seconds * 1_000_000n) * 1000 };
}

const ASSET: Readonly<Record<AssetCode, Asset>> = {
  CREDITS: Asset.CREDITS,
  FREE_OPERATIONS: Asset.FREE_OPERATIONS,
};

function toHold(hold: HoldView): MessageInitShape<typeof HoldSchema> {
  return {
    holdId: hold.holdId,
    userRef: hold.userRef,
    operation: hold.operation,
    jobId: hold.jobId,
    state: HOLD_STATE[hold.state],
    fundedBy: FUNDING[hold.fundedBy],
    amountCredits: hold.amountCredits,
    amountFreeOperations: hold.amountFreeOperations,
    postedAmount: hold.postedAmount,
    priceCredits: hold.priceCredits,
    createdAt: timestampFromDate(hold.createdAt),
    expiresAt: timestampFromDate(hold.expiresAt),
    ...(hold.resolvedAt === undefined ? {} : { resolvedAt: timestampFromDate(hold.resolvedAt) }),
    resolutionReason: hold.resolutionReason,
    postedTransferId: hold.postedTransferId,
    refunded: hold.refunded,
  };
}

/** Commit's and Release's optional `expected`: each field, when set, in the shape Reserve accepts. */
function expectation(
  v: Validator,
  expected: { jobId: string; userRef: string; operation: string } | undefined,
): HoldExpectation | undefined {
  if (expected === undefined) return undefined;
  return {
    jobId: v.text("expected.job_id", expected.jobId, { max: 128, required: false }),
    userRef: expected.userRef === "" ? "" : v.userRef("expected.user_ref", expected.userRef),
    operation: expected.operation === "" ? "" : v.name("expected.operation", expected.operation),
  };
}
