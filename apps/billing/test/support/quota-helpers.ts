// Shared by the quota tests: reading a failed call as a caller would, and the stored counters.
import { Code, ConnectError, errorReason, fieldViolations, quotaFailure } from "@billing/client";
import { withPg } from "@billing/testkit";
import type { TestBilling } from "./helpers.js";

export interface Failure {
  code: string;
  reason: string | undefined;
  fields: Record<string, string>;
  quotaViolations: { subject: string; description: string }[];
}

/** The failure of a call that must fail: gRPC code name, ErrorInfo reason, field and quota details. */
export async function failure(call: Promise<unknown>): Promise<Failure> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    return {
      code: Code[error.code],
      reason: errorReason(error),
      fields: fieldViolations(error),
      quotaViolations: (quotaFailure(error)?.violations ?? []).map((v) => ({
        subject: v.subject,
        description: v.description,
      })),
    };
  }
  throw new Error("expected the call to fail");
}

export interface StoredCounter {
  metric: string;
  window_kind: string;
  window_start: Date;
  used_units: bigint;
  extra_units: bigint;
}

/** The counter rows of a user, oldest window first, read straight from PostgreSQL. */
export async function storedCounters(billing: TestBilling, userRef: string): Promise<StoredCounter[]> {
  return withPg(billing.database.url, async (pg) => {
    const { rows } = await pg.query<{
      metric: string;
      window_kind: string;
      window_start: Date;
      used_units: string;
      extra_units: string;
    }>(
      `select metric, window_kind, window_start, used_units, extra_units from quota_counters
       where user_ref = $1 order by window_start, metric`,
      [userRef],
    );
    return rows.map((row) => ({
      ...row,
      used_units: BigInt(row.used_units),
      extra_units: BigInt(row.extra_units),
    }));
  });
}

export const iso = (date: { seconds: bigint; nanos: number } | undefined): string | undefined =>
  date === undefined ? undefined : new Date(Number(date.seconds) * 1000 + date.nanos / 1e6).toISOString();
