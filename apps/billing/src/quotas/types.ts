// What the quotas context answers. Plain data with bigint counts; rpc/ maps it to proto.
import type { PlanConfig, QuotaWindowName } from "@billing/config";

export interface QuotaConfig {
  readonly plans: readonly PlanConfig[];
  /** IANA zone of the calendar windows, e.g. Europe/Moscow. */
  readonly timeZone: string;
}

/** One metric of a user's plan in the current window. */
export interface MetricQuota {
  readonly metric: string;
  readonly window: QuotaWindowName;
  readonly limitUnits: bigint;
  readonly extraUnits: bigint;
  readonly usedUnits: bigint;
  readonly remainingUnits: bigint;
  readonly windowStart: Date;
  /** The first instant of the next window. */
  readonly resetsAt: Date;
}

export interface QuotaReport {
  readonly userRef: string;
  readonly planCode: string;
  readonly planUntil: Date | undefined;
  readonly metrics: readonly MetricQuota[];
}

export interface ConsumeResult {
  readonly planCode: string;
  readonly quota: MetricQuota;
}

export interface PlanAssignment {
  readonly userRef: string;
  readonly planCode: string;
  readonly until: Date | undefined;
}

export interface PlanActivation {
  /** False when this payment had already activated the plan (nothing changed this time). */
  readonly activated: boolean;
  readonly userRef: string;
  readonly planCode: string;
  readonly paymentId: string;
  /** The end of the plan before this payment, if it was the same plan still running. */
  readonly previousUntil: Date | undefined;
  /** The new end; undefined if the same plan already ran without end. */
  readonly until: Date | undefined;
}
