// The callers of the two-instance scenario: each loops Charge, Reserve→Commit, Reserve→Release and
// Reserve-left-to-expire on random users, against its preferred instance. A call that gets no
// answer (the instance died, the connection broke) is retried with the same idempotency key,
// alternating instances, a bounded number of times — what a real client does. Every call's final
// answer is recorded for the audit.
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { type BillingClient, Code, ConnectError, errorReason } from "@billing/client";
import { create } from "@bufbuild/protobuf";
import {
  type ChargeRequest,
  ChargeRequestSchema,
  type ReserveRequest,
  ReserveRequestSchema,
} from "@billing/proto/billing/v1/wallet_pb";
import { sleep } from "./common.js";

export interface Endpoint {
  readonly name: string;
  /** Replaced when the instance restarts. */
  client: BillingClient;
  /** When this instance last answered anything (ms, performance.now()), and the longest silence. */
  lastAnswerMs: number;
  longestGapMs: number;
}

export type Rpc = "charge" | "reserve" | "commit" | "release";

export interface CallRecord {
  readonly rpc: Rpc;
  readonly key: string;
  readonly userRef: string;
  /** ok: answered with success; refused: answered with a domain error; unanswered: gave up. */
  outcome: "ok" | "refused" | "unanswered";
  /** Transfer id (charge) or hold id (reserve, commit, release). */
  id?: string | undefined;
  amountCredits?: bigint | undefined;
  refusal?: string | undefined;
  /** The first attempt got no answer: the final answer is a replay. */
  retried: boolean;
  /** Reserves left to expire. */
  leftToExpire?: boolean;
  /** The request of a charge or reserve, to ask it again in the audit. */
  request?: ChargeRequest | ReserveRequest;
}

export interface LoadOptions {
  endpoints: readonly Endpoint[];
  users: readonly string[];
  callers: number;
  durationMs: number;
  /** Timeout of the holds that are left to expire. */
  expiringHoldMs: number;
  runId: string;
}

/** Codes after which the outcome is unknown or the call never ran: the same key is tried again. */
const NO_ANSWER = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.Unknown,
  Code.Internal,
  Code.Aborted,
  Code.Canceled,
]);
const MAX_ATTEMPTS = 40;
const RETRY_PAUSE_MS = 150;
const HOLD_TIMEOUT_MS = 120_000;

/** Runs `call` until it is answered (success or refusal) or MAX_ATTEMPTS are spent. */
async function answered<T>(
  record: CallRecord,
  endpoints: readonly Endpoint[],
  preferred: number,
  call: (client: BillingClient) => Promise<T>,
): Promise<T | undefined> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const endpoint = endpoints[(preferred + attempt) % endpoints.length];
    if (endpoint === undefined) break;
    try {
      const answer = await call(endpoint.client);
      heard(endpoint);
      record.outcome = "ok";
      return answer;
    } catch (error) {
      const connectError = ConnectError.from(error);
      if (!NO_ANSWER.has(connectError.code)) {
        heard(endpoint);
        record.outcome = "refused";
        record.refusal = errorReason(error) ?? Code[connectError.code];
        return undefined;
      }
      record.retried = true;
      if (attempt % endpoints.length === endpoints.length - 1) await sleep(RETRY_PAUSE_MS);
    }
  }
  record.outcome = "unanswered";
  return undefined;
}

function heard(endpoint: Endpoint): void {
  const now = performance.now();
  endpoint.longestGapMs = Math.max(endpoint.longestGapMs, now - endpoint.lastAnswerMs);
  endpoint.lastAnswerMs = now;
}

/** One caller's loop until `until` (performance.now() ms). */
async function caller(index: number, until: number, options: LoadOptions, records: CallRecord[]) {
  const preferred = index % options.endpoints.length;
  for (let sequence = 0; performance.now() < until; sequence++) {
    const userRef = options.users[Math.floor(Math.random() * options.users.length)] ?? "";
    const key = `chaos-${options.runId}-${index}-${sequence}`;
    const record = (rpc: Rpc, recordKey = key): CallRecord => {
      const created: CallRecord = { rpc, key: recordKey, userRef, outcome: "unanswered", retried: false };
      records.push(created);
      return created;
    };
    const dice = Math.random();
    if (dice < 0.4) {
      const charge = record("charge");
      const request = create(ChargeRequestSchema, { userRef, operation: "generate", idempotencyKey: key });
      charge.request = request;
      const answer = await answered(charge, options.endpoints, preferred, (client) =>
        client.wallet.charge(request),
      );
      charge.id = answer?.transferId;
      charge.amountCredits = answer?.amountCredits;
      continue;
    }
    const leftToExpire = dice >= 0.9;
    const reserve = record("reserve");
    reserve.leftToExpire = leftToExpire;
    const request = create(ReserveRequestSchema, {
      userRef,
      operation: "generate",
      idempotencyKey: key,
      jobId: key,
      timeout: durationFromMs(leftToExpire ? options.expiringHoldMs : HOLD_TIMEOUT_MS),
    });
    reserve.request = request;
    const held = await answered(reserve, options.endpoints, preferred, (client) =>
      client.wallet.reserve(request),
    );
    reserve.id = held?.hold?.holdId;
    reserve.amountCredits = held?.hold?.amountCredits;
    if (reserve.id === undefined || leftToExpire) continue;
    const holdId = reserve.id;
    const settle = record(dice < 0.7 ? "commit" : "release", `${key}-settle`);
    settle.id = holdId;
    const settled = await answered(settle, options.endpoints, preferred, async (client) =>
      settle.rpc === "commit"
        ? (await client.wallet.commit({ holdId })).hold
        : (await client.wallet.release({ holdId, reason: "chaos" })).hold,
    );
    settle.amountCredits = settled?.postedAmount;
  }
}

/** Runs the callers; `during` runs alongside (the kill and the restart). */
export async function runLoad(options: LoadOptions, during: () => Promise<void>): Promise<CallRecord[]> {
  const records: CallRecord[] = [];
  const until = performance.now() + options.durationMs;
  for (const endpoint of options.endpoints) endpoint.lastAnswerMs = performance.now();
  await Promise.all([
    ...Array.from({ length: options.callers }, (_, index) => caller(index, until, options, records)),
    during(),
  ]);
  return records;
}
