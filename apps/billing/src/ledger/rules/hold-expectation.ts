// Does a hold pay for what its caller expects? The worker commits or releases a job's hold without
// reading it first, naming the job, user and operation it expects; a hold of another job, user or
// operation is refused before anything is touched. No I/O.
import { DomainError } from "../../domain/errors.js";

/** What the caller expects; an empty field is not checked. */
export interface HoldExpectation {
  readonly jobId: string;
  readonly userRef: string;
  readonly operation: string;
}

/** The parts of a hold an expectation is checked against (a hold reserved without a job id has none). */
export interface ExpectedHoldFields {
  readonly id: string;
  readonly jobId: string | null | undefined;
  readonly userRef: string;
  readonly operation: string;
}

/** The fields (proto names) in which `hold` differs from `expected`; empty when it matches. */
export function holdMismatches(hold: ExpectedHoldFields, expected: HoldExpectation): string[] {
  const differing: string[] = [];
  if (expected.jobId !== "" && hold.jobId !== expected.jobId) differing.push("job_id");
  if (expected.userRef !== "" && hold.userRef !== expected.userRef) differing.push("user_ref");
  if (expected.operation !== "" && hold.operation !== expected.operation) differing.push("operation");
  return differing;
}

/**
 * Throws HOLD_MISMATCH when the hold is not the expected one. The error names the differing fields
 * but never the hold's own values: they may belong to another user.
 */
export function assertHoldExpected(hold: ExpectedHoldFields, expected: HoldExpectation | undefined): void {
  if (expected === undefined) return;
  const differing = holdMismatches(hold, expected);
  if (differing.length === 0) return;
  throw new DomainError(
    "HOLD_MISMATCH",
    `hold ${hold.id} does not pay for the expected ${differing.join(", ")}; nothing was changed`,
    { metadata: { hold_id: hold.id, mismatched: differing.join(",") } },
  );
}
