// VerifyLedger: recomputes every invariant of the ledger from the stored transfers, in one
// REPEATABLE READ snapshot so concurrent traffic cannot produce false alarms.
import { IsolationLevel } from "@mikro-orm/postgresql";
import type { Database, EntityManager } from "../../db/database.js";
import {
  applyMovement,
  available,
  type AccountBalances,
  zeroBalances,
  type Movement,
} from "../rules/balances.js";
import type { LedgerViolation, VerifyReport } from "../types.js";

/** A further invariant contributed by another module (e.g. payments credited exactly once). */
export type InvariantCheck = (em: EntityManager) => Promise<LedgerViolation[]>;

const PAGE = 5_000;
const MAX_VIOLATIONS = 100;

interface AccountRow {
  id: string;
  owner_ref: string;
  asset: string;
  kind: string;
  debits_pending: string;
  debits_posted: string;
  credits_pending: string;
  credits_posted: string;
}

interface TransferRow {
  seq: string;
  id: string;
  kind: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: string;
  pending: boolean;
  pending_id: string | null;
  debit_balance_after: string;
  credit_balance_after: string;
}

export async function verifyLedger(
  db: Database,
  extraChecks: readonly InvariantCheck[] = [],
): Promise<VerifyReport> {
  return db.orm.em.fork().transactional(
    async (em) => {
      const violations: LedgerViolation[] = [];
      const report = (invariant: string, subject: string, description: string) => {
        if (violations.length < MAX_VIOLATIONS) violations.push({ invariant, subject, description });
      };

      // 1. For each asset, all balances sum to zero (posted and pending alike).
      const sums = await em.execute<{ asset: string; posted: string; pending: string }[]>(
        `select asset, sum(credits_posted - debits_posted)::text as posted, sum(credits_pending - debits_pending)::text as pending
           from ledger_accounts group by asset`,
      );
      for (const sum of sums) {
        if (sum.posted !== "0" || sum.pending !== "0") {
          report(
            "asset_sum_zero",
            sum.asset,
            `posted balances sum to ${sum.posted}, pending to ${sum.pending}`,
          );
        }
      }

      // 2-3. Replay every transfer in order: each balance_after and each stored account must match.
      const accountRows = await em.execute<AccountRow[]>(`select * from ledger_accounts`);
      const replayed = new Map<string, AccountBalances>(
        accountRows.map((a) => [String(a.id), zeroBalances()]),
      );
      const pendingAmounts = new Map<string, bigint>();
      let transfersChecked = 0n;
      let afterSeq = "0";
      for (let pages = 0; ; pages++) {
        const rows = await em.execute<TransferRow[]>(
          `select seq, id, kind, debit_account_id, credit_account_id, amount, pending, pending_id,
                  debit_balance_after, credit_balance_after
             from ledger_transfers where seq > ? order by seq limit ?`,
          [afterSeq, PAGE],
        );
        for (const row of rows) {
          transfersChecked++;
          const debit = replayed.get(String(row.debit_account_id));
          const credit = replayed.get(String(row.credit_account_id));
          if (debit === undefined || credit === undefined) {
            report("account_matches_transfers", row.id, "transfer names an account that does not exist");
            continue;
          }
          const amount = BigInt(row.amount);
          let movement: Movement;
          if (row.pending) {
            movement = { type: "pending", amount };
            pendingAmounts.set(row.id, amount);
          } else if (row.pending_id !== null) {
            const pendingAmount = pendingAmounts.get(row.pending_id);
            if (pendingAmount === undefined) {
              report(
                "hold_resolved_once",
                row.id,
                `resolves ${row.pending_id}, which is not an open pending transfer`,
              );
              continue;
            }
            pendingAmounts.delete(row.pending_id);
            movement =
              row.kind === "HOLD_VOIDED" || row.kind === "HOLD_EXPIRED"
                ? { type: "void_pending", amount }
                : { type: "post_pending", amount, pendingAmount };
          } else {
            movement = { type: "posted", amount };
          }
          applyMovement(debit, credit, movement);
          if (
            available(debit) !== BigInt(row.debit_balance_after) ||
            available(credit) !== BigInt(row.credit_balance_after)
          ) {
            report(
              "balance_after_replay",
              row.id,
              `stored balances after (${row.debit_balance_after}, ${row.credit_balance_after}) differ from the replay (${available(debit)}, ${available(credit)})`,
            );
          }
        }
        const last = rows.at(-1);
        if (last === undefined || rows.length < PAGE) break;
        afterSeq = String(last.seq);
      }
      for (const account of accountRows) {
        const replay = replayed.get(String(account.id)) ?? zeroBalances();
        const stored: AccountBalances = {
          debitsPending: BigInt(account.debits_pending),
          debitsPosted: BigInt(account.debits_posted),
          creditsPending: BigInt(account.credits_pending),
          creditsPosted: BigInt(account.credits_posted),
        };
        const keys = ["debitsPending", "debitsPosted", "creditsPending", "creditsPosted"] as const;
        const differing = keys.filter((k) => stored[k] !== replay[k]);
        if (differing.length > 0) {
          report(
            "account_matches_transfers",
            `${account.owner_ref}/${account.asset}`,
            `stored ${differing.join(", ")} differ from the sum of its transfers`,
          );
        }
        // 4. No user account below zero available.
        if (account.kind === "USER" && available(stored) < 0n) {
          report(
            "no_negative_user_balance",
            `${account.owner_ref}/${account.asset}`,
            `available is ${available(stored)}`,
          );
        }
      }

      // 5. Reserved = the sum of open holds, per user account.
      const reservedMismatch = await em.execute<
        { owner_ref: string; asset: string; reserved: string; held: string }[]
      >(
        `select a.owner_ref, a.asset, a.debits_pending::text as reserved, coalesce(sum(h.amount), 0)::text as held
           from ledger_accounts a
           left join ledger_holds h on h.user_ref = a.owner_ref and h.state = 'PENDING'
                and h.funded_by = case a.asset when 'CREDITS' then 'CREDITS' else 'FREE_OPERATION' end
          where a.kind = 'USER'
          group by a.id
         having a.debits_pending <> coalesce(sum(h.amount), 0)`,
      );
      for (const row of reservedMismatch) {
        report(
          "reserved_matches_open_holds",
          `${row.owner_ref}/${row.asset}`,
          `reserved ${row.reserved}, open holds ${row.held}`,
        );
      }

      // 6. Every resolved hold is resolved by exactly one transfer of the matching kind.
      const badHolds = await em.execute<{ id: string; state: string; problem: string }[]>(
        `select h.id, h.state,
                case when h.state = 'PENDING' and r.id is not null then 'pending but resolved by ' || r.id
                     when h.state <> 'PENDING' and h.funded_by <> 'NONE' and r.id is null then 'resolved without a transfer'
                     when r.id is not null and r.kind <> ('HOLD_' || h.state)
                       then 'state ' || h.state || ' but resolved by ' || r.kind
                end as problem
           from ledger_holds h
           left join ledger_transfers r on r.pending_id = h.pending_transfer_id
          where (h.state = 'PENDING' and r.id is not null)
             or (h.state <> 'PENDING' and h.funded_by <> 'NONE' and r.id is null)
             or (r.id is not null and r.kind <> ('HOLD_' || h.state))`,
      );
      for (const hold of badHolds) report("hold_resolved_once", hold.id, hold.problem);
      // 7. A pending amount is posted or voided on the very accounts that hold it.
      const misrouted = await em.execute<{ id: string }[]>(
        `select r.id from ledger_transfers r join ledger_transfers p on p.id = r.pending_id
          where r.debit_account_id <> p.debit_account_id or r.credit_account_id <> p.credit_account_id`,
      );
      for (const row of misrouted) {
        report(
          "resolution_matches_pending",
          row.id,
          "resolves a pending transfer on other accounts than it was placed on",
        );
      }
      const [holdCount] = await em.execute<{ count: string }[]>(
        `select count(*)::text as count from ledger_holds`,
      );

      for (const check of extraChecks)
        for (const violation of await check(em))
          report(violation.invariant, violation.subject, violation.description);

      return {
        ok: violations.length === 0,
        violations,
        accountsChecked: BigInt(accountRows.length),
        transfersChecked,
        holdsChecked: BigInt(holdCount?.count ?? "0"),
      };
    },
    { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
  );
}
