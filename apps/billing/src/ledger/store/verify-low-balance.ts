// VerifyLedger's low-balance invariant: the topped-up flag of every account says exactly whether a
// TOP_UP transfer ever credited it (the bot's nudge goes only to users who paid before). Plain SQL in
// VerifyLedger's snapshot.
import type { EntityManager } from "../../db/database.js";
import type { LedgerViolation } from "../types.js";
import type { InvariantCheck } from "./verify.js";

const LIMIT = 100;

export const verifyLowBalance: InvariantCheck = async (em: EntityManager): Promise<LedgerViolation[]> => {
  const rows = await em.execute<{ id: string; owner_ref: string; topped_up: boolean }[]>(
    `select a.id::text as id, a.owner_ref, a.topped_up
       from ledger_accounts a
      where a.topped_up <> exists (
              select 1 from ledger_transfers t where t.credit_account_id = a.id and t.kind = 'TOP_UP')
      order by a.id
      limit ?`,
    [LIMIT],
  );
  return rows.map((row) => ({
    invariant: "topped_up_matches_top_ups",
    subject: row.id,
    description: row.topped_up
      ? `account of ${row.owner_ref} is marked topped up without a TOP_UP transfer`
      : `account of ${row.owner_ref} received a TOP_UP transfer but is not marked topped up`,
  }));
};
