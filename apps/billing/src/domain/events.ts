// What billing announces, as plain domain data (bigint amounts, Dates). Contexts record these; only
// the outbox encodes them to protobuf (events.v1.BillingEvent), with `kind` naming the payload case.

export interface BalanceFigures {
  readonly creditsAvailable: bigint;
  readonly creditsReserved: bigint;
  readonly freeOperationsAvailable: bigint;
  readonly freeOperationsReserved: bigint;
}

export type DomainEvent = { readonly userRef: string } & (
  | ({ readonly kind: "balanceChanged"; readonly cause: string } & BalanceFigures)
  /** The user's available credits fell below their threshold (once per downward crossing). */
  | ({
      readonly kind: "balanceLow";
      readonly cause: string;
      readonly thresholdCredits: bigint;
      /** The user has completed a top-up before (the bot nudges only them). */
      readonly toppedUp: boolean;
    } & BalanceFigures)
  | {
      readonly kind: "holdExpired";
      readonly holdId: string;
      readonly operation: string;
      readonly jobId: string;
      readonly amountCredits: bigint;
      readonly amountFreeOperations: bigint;
    }
  | {
      readonly kind: "paymentSucceeded";
      readonly paymentId: string;
      readonly providerPaymentId: string;
      readonly amountMinor: bigint;
      readonly currency: string;
      readonly credits: bigint;
      readonly planCode: string;
      readonly creditsAvailable: bigint;
    }
  | {
      readonly kind: "paymentCanceled";
      readonly paymentId: string;
      readonly providerPaymentId: string;
      readonly amountMinor: bigint;
      readonly currency: string;
      readonly cancellationParty: string;
      readonly cancellationReason: string;
    }
  | {
      readonly kind: "refundSucceeded";
      readonly refundId: string;
      readonly paymentId: string;
      readonly amountMinor: bigint;
      readonly creditsReversed: bigint;
    }
  /** A promo lot arrived (Grant with an expiry). */
  | {
      readonly kind: "promoGranted";
      readonly lotId: string;
      readonly amountCredits: bigint;
      readonly expiresAt: Date;
      readonly priority: number;
      readonly reason: string;
      readonly creditsAvailable: bigint;
    }
  /** A promo lot with credits left expires within a day (once per lot). */
  | {
      readonly kind: "creditsExpiring";
      readonly lotId: string;
      readonly amountCredits: bigint;
      readonly expiresAt: Date;
    }
  /** Promo credits expired (one CREDITS_EXPIRED transfer). */
  | {
      readonly kind: "creditsExpired";
      readonly lotId: string;
      readonly amountCredits: bigint;
      readonly transferId: string;
      readonly cause: string;
      readonly creditsAvailable: bigint;
    }
  | {
      readonly kind: "planActivated";
      readonly planCode: string;
      readonly paymentId: string;
      readonly until: Date | undefined;
    }
);
