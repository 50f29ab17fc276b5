// The SQL of the hot path's two trips, as statements prepared once per connection. Each parameter
// is one JSON value: a list of ids or keys for the reads, a list of rows for the writes
// (json_to_recordset, whose columns are the JSON rows' snake_case fields, see rows.ts).
import { ACCOUNT_COLUMNS, HOLD_COLUMNS, LOT_COLUMNS } from "./rows.js";
import { preparedStatement } from "./two-trips.js";

/** The user refs a batch names ($1) and those of the holds it names ($2). */
const BATCH_USERS = `select json_array_elements_text($1)
  union select user_ref from ledger_holds where id = any(array(select json_array_elements_text($2)::uuid))`;

function lockHolds(skipLocked: boolean) {
  return preparedStatement(
    skipLocked ? "billing_batch_lock_holds_skip_locked" : "billing_batch_lock_holds",
    1,
    `select ${HOLD_COLUMNS} from ledger_holds h
       left join ledger_transfers t on t.id = h.pending_transfer_id
      where h.id = any(array(select json_array_elements_text($1)::uuid))
      order by h.id for update of h${skipLocked ? " skip locked" : ""}`,
  );
}

/** $1 hold ids, in id order, locked; the sweep skips those another transaction has locked. */
export const LOCK_HOLDS = lockHolds(false);
export const LOCK_HOLDS_SKIP_LOCKED = lockHolds(true);

/**
 * The accounts of the batch's users ($1) and of its holds' users ($2: hold ids), the system shards
 * it names ($3), and the counterparties of its holds' pending transfers (a pending amount is posted
 * or voided where it is held); locked in id order.
 */
export const LOCK_ACCOUNTS = preparedStatement(
  "billing_batch_lock_accounts",
  3,
  `select ${ACCOUNT_COLUMNS} from ledger_accounts
    where (kind = 'USER' and owner_ref = any(array(${BATCH_USERS})))
       or id = any(array(
             select json_array_elements_text($3)::bigint
             union select t.credit_account_id from ledger_transfers t
               join ledger_holds h on t.id = h.pending_transfer_id
              where h.id = any(array(select json_array_elements_text($2)::uuid))))
    order by id for update`,
);

/**
 * The live promo lots of the same users ($1, $2 as for the accounts). Read after the account locks,
 * in the same trip: its snapshot sees every lot change committed before them.
 */
export const READ_LOTS = preparedStatement(
  "billing_batch_read_lots",
  2,
  `select ${LOT_COLUMNS} from credit_lots
    where user_ref = any(array(${BATCH_USERS})) and (state = 'ACTIVE' or reserved > 0)`,
);

/** The stored answers of the batch's idempotency keys ($1). */
export const READ_KEYS = preparedStatement(
  "billing_batch_read_keys",
  1,
  `select key, command, encode(fingerprint, 'hex') as fingerprint, result::text as result
     from idempotency_keys
    where key = any(array(select json_array_elements_text($1)))`,
);

export const READ_NOW = preparedStatement(
  "billing_batch_read_now",
  0,
  `select floor(extract(epoch from now()) * 1000)::bigint::text as now_ms`,
);

/** $1: transfer rows, in the order they were made (`n`, so that `seq` follows it). */
export const INSERT_TRANSFERS = preparedStatement(
  "billing_batch_insert_transfers",
  1,
  `insert into ledger_transfers (id, kind, asset, debit_account_id, credit_account_id, amount, pending,
       pending_id, refund_of, user_ref, operation, hold_id, job_id, reference, reason, lots,
       debit_balance_after, credit_balance_after, debit_reserved_after, credit_reserved_after, created_at)
   select id, kind, asset, debit_account_id, credit_account_id, amount, pending, pending_id, refund_of,
          user_ref, operation, hold_id, job_id, reference, reason, lots, debit_balance_after,
          credit_balance_after, debit_reserved_after, credit_reserved_after, created_at
     from json_to_recordset($1) as r(n int, id uuid, kind text, asset text, debit_account_id bigint,
          credit_account_id bigint, amount bigint, pending boolean, pending_id uuid, refund_of uuid,
          user_ref text, operation text, hold_id uuid, job_id text, reference text, reason text,
          lots jsonb, debit_balance_after bigint, credit_balance_after bigint,
          debit_reserved_after bigint, credit_reserved_after bigint, created_at timestamptz)
    order by n`,
);

export const INSERT_HOLDS = preparedStatement(
  "billing_batch_insert_holds",
  1,
  `insert into ledger_holds (id, user_ref, operation, job_id, funded_by, amount, price_credits, state,
       pending_transfer_id, resolution_transfer_id, posted_amount, resolution_reason, refund_transfer_id,
       expires_at, created_at, resolved_at)
   select * from json_to_recordset($1) as r(id uuid, user_ref text, operation text, job_id text,
          funded_by text, amount bigint, price_credits bigint, state text, pending_transfer_id uuid,
          resolution_transfer_id uuid, posted_amount bigint, resolution_reason text,
          refund_transfer_id uuid, expires_at timestamptz, created_at timestamptz, resolved_at timestamptz)`,
);

/**
 * An UPDATE of `table` from JSON rows ($1) that carry its primary key `id`. The rows are found
 * through the key: joined on it alone, json_to_recordset's fixed estimate of 100 rows makes the
 * planner hash the whole table, which grows with history (ledger_holds) or is scanned by every batch.
 */
function updateById(name: string, table: string, assignments: string, rowType: string) {
  return preparedStatement(
    name,
    1,
    `with r as materialized (select * from json_to_recordset($1) as r(${rowType}))
     update ${table} t set ${assignments}
       from r
      where t.id = any(array(select id from r)) and t.id = r.id`,
  );
}

export const UPDATE_HOLDS = updateById(
  "billing_batch_update_holds",
  "ledger_holds",
  `state = r.state, resolution_transfer_id = r.resolution_transfer_id, posted_amount = r.posted_amount,
   resolution_reason = r.resolution_reason, resolved_at = r.resolved_at`,
  `id uuid, state text, resolution_transfer_id uuid, posted_amount bigint, resolution_reason text,
   resolved_at timestamptz`,
);

export const UPDATE_LOTS = updateById(
  "billing_batch_update_lots",
  "credit_lots",
  "balance = r.balance, reserved = r.reserved, state = r.state, expired_at = r.expired_at",
  "id uuid, balance bigint, reserved bigint, state text, expired_at timestamptz",
);

export const UPDATE_ACCOUNTS = updateById(
  "billing_batch_update_accounts",
  "ledger_accounts",
  `debits_pending = r.debits_pending, debits_posted = r.debits_posted,
   credits_pending = r.credits_pending, credits_posted = r.credits_posted`,
  "id bigint, debits_pending bigint, debits_posted bigint, credits_pending bigint, credits_posted bigint",
);

export const INSERT_KEYS = preparedStatement(
  "billing_batch_insert_keys",
  1,
  `insert into idempotency_keys (key, command, fingerprint, result, created_at)
   select key, command, decode(fingerprint, 'hex'), result, created_at
     from json_to_recordset($1) as r(key text, command text, fingerprint text, result jsonb,
          created_at timestamptz)`,
);

export const INSERT_EVENTS = preparedStatement(
  "billing_batch_insert_events",
  1,
  `insert into outbox_events (event_id, subject, payload, created_at)
   select event_id, subject, decode(payload, 'hex'), created_at
     from json_to_recordset($1) as r(event_id uuid, subject text, payload text, created_at timestamptz)`,
);
