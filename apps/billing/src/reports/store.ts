// The reports' only SQL: read-only aggregates over ledger transfers, holds and payments for a period
// [from, to). Every figure is an exact integer count or sum computed by PostgreSQL.
import type { EntityManager } from "../db/database.js";

export interface Period {
  readonly from: Date;
  readonly to: Date;
}

export interface OperationRow {
  operation: string;
  generations: bigint;
  paidGenerations: bigint;
  creditsSpent: bigint;
}

const int = (value: string | number | bigint | null | undefined): bigint => BigInt(value ?? 0);

/** Distinct users with a charge that moved value, a hold, or a top-up opened in the period. */
export async function activeUsers(em: EntityManager, period: Period): Promise<bigint> {
  const [row] = await em.execute<{ users: string | null }[]>(
    `select count(distinct user_ref) as users from (
       select user_ref from ledger_transfers where kind = 'CHARGE' and created_at >= ? and created_at < ?
       union all select user_ref from ledger_holds where created_at >= ? and created_at < ?
       union all select user_ref from payments where created_at >= ? and created_at < ?
     ) active`,
    [period.from, period.to, period.from, period.to, period.from, period.to],
  );
  return int(row?.users);
}

/** Charges that moved value and committed holds of the period, by operation. */
export async function generationsByOperation(em: EntityManager, period: Period): Promise<OperationRow[]> {
  const rows = await em.execute<
    { operation: string; generations: string | null; paid: string | null; credits: string | null }[]
  >(
    `select operation, count(*) as generations,
            count(*) filter (where paid) as paid,
            coalesce(sum(credits) filter (where paid), 0) as credits
       from (
         select operation, asset = 'CREDITS' as paid, amount as credits
           from ledger_transfers where kind = 'CHARGE' and created_at >= ? and created_at < ?
         union all
         select operation, funded_by = 'CREDITS' as paid, posted_amount as credits
           from ledger_holds where state = 'POSTED' and resolved_at >= ? and resolved_at < ?
       ) done
      group by operation order by operation`,
    [period.from, period.to, period.from, period.to],
  );
  return rows.map((row) => ({
    operation: row.operation,
    generations: int(row.generations),
    paidGenerations: int(row.paid),
    creditsSpent: int(row.credits),
  }));
}

/** Users who opened a top-up in the period, and those of them whose top-up of the period succeeded. */
export async function topUpFunnel(
  em: EntityManager,
  period: Period,
): Promise<{ opened: bigint; paid: bigint }> {
  const [row] = await em.execute<{ opened: string | null; paid: string | null }[]>(
    `select count(distinct user_ref) as opened,
            count(distinct user_ref) filter (where credited_at is not null) as paid
       from payments where created_at >= ? and created_at < ?`,
    [period.from, period.to],
  );
  return { opened: int(row?.opened), paid: int(row?.paid) };
}

/** Committed holds with a job id resolved in the period: count and mean Reserve-to-Commit time. */
export async function committedJobs(
  em: EntityManager,
  period: Period,
): Promise<{ jobs: bigint; meanMs: bigint }> {
  const [row] = await em.execute<{ jobs: string | null; mean_ms: string | null }[]>(
    `select count(*) as jobs,
            coalesce(round(avg(extract(epoch from (resolved_at - created_at)) * 1000)), 0)::bigint as mean_ms
       from ledger_holds
      where state = 'POSTED' and job_id is not null and resolved_at >= ? and resolved_at < ?`,
    [period.from, period.to],
  );
  return { jobs: int(row?.jobs), meanMs: int(row?.mean_ms) };
}

/** Local midnight of `day` and of the next day, and of its month's first and next month's first day. */
export async function periodsOf(
  em: EntityManager,
  day: string,
  timeZone: string,
): Promise<{ day: Period; month: Period }> {
  const [row] = await em.execute<{ day_from: Date; day_to: Date; month_from: Date; month_to: Date }[]>(
    `select (d::timestamp at time zone tz) as day_from,
            ((d + 1)::timestamp at time zone tz) as day_to,
            (date_trunc('month', d)::timestamp at time zone tz) as month_from,
            ((date_trunc('month', d) + interval '1 month')::timestamp at time zone tz) as month_to
       from (select ?::date as d, ?::text as tz) input`,
    [day, timeZone],
  );
  if (row === undefined) throw new Error("reports invariant: no period for a day");
  const date = (value: Date | string) => new Date(value);
  return {
    day: { from: date(row.day_from), to: date(row.day_to) },
    month: { from: date(row.month_from), to: date(row.month_to) },
  };
}
