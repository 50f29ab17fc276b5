// The ledger's reads outside a batch: a hold, a balance with its lots in one snapshot, a balance
// inside another context's unit of work, and what the sweeps find due. "Due" is decided by the
// database's clock unless a test brings its own.
import { IsolationLevel } from "@mikro-orm/postgresql";
import type { Database, EntityManager } from "../../db/database.js";
import { LedgerHold } from "../../db/entities.js";
import { entityManagerOf } from "../../db/unit-of-work.js";
import type { UnitOfWork } from "../../domain/unit-of-work.js";
import { recordEvent } from "../../outbox/outbox.js";
import type { AccountBalances } from "../rules/balances.js";
import type { LotState } from "../rules/lots.js";
import type { StoredHold } from "../rules/views.js";
import type { AccountDirectory } from "./accounts.js";
import { liveLots } from "./cold-writes.js";

type UserAccounts = { credits: AccountBalances; freeOperations: AccountBalances };

export async function readHold(db: Database, holdId: string): Promise<StoredHold | null> {
  return db.reader().findOne(LedgerHold, { id: holdId });
}

/** The user's accounts and live lots, read in one snapshot (so the lots' split matches the balance). */
export async function readAccountsWithLots(
  db: Database,
  accounts: AccountDirectory,
  userRef: string,
): Promise<{ accounts: UserAccounts; lots: LotState[] }> {
  return db
    .reader()
    .transactional(
      async (tx) => ({ accounts: await accounts.read(tx, userRef), lots: await liveLots(tx, userRef) }),
      { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
    );
}

/** The user's accounts (and, with `withLots`, live lots) inside another context's unit of work. */
export async function readAccountsIn(
  uow: UnitOfWork,
  accounts: AccountDirectory,
  userRef: string,
): Promise<{ accounts: UserAccounts; lots: () => Promise<LotState[]> }> {
  const em: EntityManager = entityManagerOf(uow);
  return { accounts: await accounts.read(em, userRef), lots: () => liveLots(em, userRef) };
}

/** Up to `limit` pending holds whose timeout passed, earliest first. */
export async function dueHoldIds(db: Database, testNow: Date | null, limit: number): Promise<string[]> {
  const rows = await db.reader().execute<{ id: string }[]>(
    `select id from ledger_holds where state = 'PENDING' and expires_at <= coalesce(?::timestamptz, now())
        order by expires_at limit ?`,
    [testNow, limit],
  );
  return rows.map((row) => row.id);
}

/** The users of up to `limit` active promo lots whose expiry passed, earliest first. */
export async function dueLotUsers(db: Database, testNow: Date | null, limit: number): Promise<string[]> {
  const rows = await db.reader().execute<{ user_ref: string }[]>(
    `select distinct user_ref from (select user_ref from credit_lots
        where state = 'ACTIVE' and expires_at <= coalesce(?::timestamptz, now())
        order by expires_at limit ?) d`,
    [testNow, limit],
  );
  return rows.map((row) => row.user_ref);
}

/**
 * Claims up to `limit` active lots with credits left that expire within `noticeMs` and have not been
 * announced, flags them and writes billing.credits.expiring for each in the same transaction. SKIP
 * LOCKED: several instances never announce a lot twice. Returns how many it announced.
 */
export async function announceExpiringLots(
  db: Database,
  testNow: Date | null,
  at: () => Date,
  noticeMs: number,
  limit: number,
): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx.execute<
      { id: string; user_ref: string; available: string; expires_at_ms: string }[]
    >(
      `with due as (
         select id from credit_lots
          where state = 'ACTIVE' and not expiring_announced and balance > reserved
            and expires_at > coalesce(?::timestamptz, now())
            and expires_at <= coalesce(?::timestamptz, now()) + ? * interval '1 millisecond'
          order by expires_at limit ? for update skip locked)
       update credit_lots l set expiring_announced = true from due where l.id = due.id
       returning l.id::text as id, l.user_ref, (l.balance - l.reserved)::text as available,
                 floor(extract(epoch from l.expires_at) * 1000)::bigint::text as expires_at_ms`,
      [testNow, testNow, noticeMs, limit],
    );
    for (const row of rows) {
      recordEvent(
        tx,
        {
          kind: "creditsExpiring",
          userRef: row.user_ref,
          lotId: row.id,
          amountCredits: BigInt(row.available),
          expiresAt: new Date(Number(row.expires_at_ms)),
        },
        at(),
      );
    }
    return rows.length;
  });
}
