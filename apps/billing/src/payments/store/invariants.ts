// VerifyLedger's payment invariants: every succeeded top-up credited exactly once with its credits,
// no TOP_UP transfer without a succeeded top-up, every refund's take-back recorded once, and each
// payment's refunded amount the sum of its succeeded refunds. Plain SQL in VerifyLedger's snapshot.
import type { EntityManager } from "../../db/database.js";
import type { InvariantCheck, LedgerViolation } from "../../ledger/index.js";

const LIMIT = 100;

export const verifyPayments: InvariantCheck = async (em: EntityManager): Promise<LedgerViolation[]> => {
  const violations: LedgerViolation[] = [];

  const uncredited = await em.execute<
    { id: string; transfers: string; total: string | null; credits: string }[]
  >(
    `select p.id, count(t.id)::text as transfers, sum(t.amount)::text as total, p.credits::text as credits
       from payments p
       left join ledger_transfers t on t.kind = 'TOP_UP' and t.reference = p.id::text
      where p.status = 'SUCCEEDED' and p.purpose = 'CREDITS'
      group by p.seq
     having count(t.id) <> 1 or sum(t.amount) <> p.credits
         or not coalesce(bool_or(t.id = p.credit_transfer_id), false)
      limit ?`,
    [LIMIT],
  );
  for (const row of uncredited) {
    violations.push({
      invariant: "payment_credited_once",
      subject: row.id,
      description: `succeeded with ${row.credits} credits, credited by ${row.transfers} TOP_UP transfers totalling ${row.total ?? "0"}`,
    });
  }

  const orphans = await em.execute<{ id: string; reference: string | null }[]>(
    `select t.id, t.reference
       from ledger_transfers t
       left join payments p on p.id::text = t.reference and p.status = 'SUCCEEDED' and p.purpose = 'CREDITS'
      where t.kind = 'TOP_UP' and p.id is null
      limit ?`,
    [LIMIT],
  );
  for (const row of orphans) {
    violations.push({
      invariant: "top_up_has_payment",
      subject: row.id,
      description: `TOP_UP transfer references ${row.reference ?? "nothing"}, which is not a succeeded top-up`,
    });
  }

  const takeBacks = await em.execute<{ id: string; problem: string }[]>(
    `select coalesce(r.id::text, t.id::text) as id,
            case when r.id is null then 'PAYMENT_REFUND transfer without a succeeded refund'
                 else 'refund reversed ' || r.credits_reversed || ' credits, transfer moved ' || coalesce(t.amount, 0)
            end as problem
       from (select * from payment_refunds where status = 'SUCCEEDED') r
       full join (select * from ledger_transfers where kind = 'PAYMENT_REFUND') t on t.reference = r.id::text
      where r.id is null or coalesce(t.amount, 0) <> r.credits_reversed
         or (t.id is distinct from r.reverse_transfer_id)
      limit ?`,
    [LIMIT],
  );
  for (const row of takeBacks) {
    violations.push({ invariant: "refund_taken_back_once", subject: row.id, description: row.problem });
  }

  const refunded = await em.execute<
    { id: string; stored: string; refunds: string; reversed: string; credits: string }[]
  >(
    `select p.id, p.refunded_amount_minor::text as stored,
            coalesce(sum(r.amount_minor) filter (where r.status = 'SUCCEEDED'), 0)::text as refunds,
            coalesce(sum(r.credits_reversed) filter (where r.status = 'SUCCEEDED'), 0)::text as reversed,
            p.credits::text as credits
       from payments p
       left join payment_refunds r on r.payment_id = p.id
      group by p.seq
     having p.refunded_amount_minor <> coalesce(sum(r.amount_minor) filter (where r.status = 'SUCCEEDED'), 0)
         or coalesce(sum(r.credits_reversed) filter (where r.status = 'SUCCEEDED'), 0) > p.credits
      limit ?`,
    [LIMIT],
  );
  for (const row of refunded) {
    violations.push({
      invariant: "payment_refunds_add_up",
      subject: row.id,
      description: `refunded ${row.stored} kopecks stored, succeeded refunds ${row.refunds}; ${row.reversed} of ${row.credits} credits taken back`,
    });
  }
  return violations;
};
