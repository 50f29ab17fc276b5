// Loading and locking accounts. System accounts are sharded so that no single row is a point of
// contention for every transaction: each transaction takes the next shard in turn (which shard
// receives a charge does not matter: a system account is the sum of its shards), so concurrent
// transactions rarely share one. User accounts are locked together with the shards a transaction
// touches, in ascending id order, so transactions never deadlock.
import { LockMode } from "@mikro-orm/postgresql";
import type { Database, EntityManager } from "../../db/database.js";
import { LedgerAccount } from "../../db/entities.js";
import { type AssetCode, ASSETS } from "../../domain/ledger-codes.js";
import { accountNotFound } from "../rules/errors.js";

/** Counterparties of user accounts. Their balances may be negative; users' never. */
export const SYSTEM = {
  /** Where charges go, and refunds come from. */
  revenue: "system:revenue",
  /** Source of grants and starter free operations. */
  issuance: "system:issuance",
  /** Source of credits bought with payments, and where payment refunds return them. */
  payments: "system:payments",
  /** Where promo credits go when they expire. */
  expired: "system:expired",
} as const;
export type SystemAccount = (typeof SYSTEM)[keyof typeof SYSTEM];

export interface LockedAccounts {
  credits: LedgerAccount;
  freeOperations: LedgerAccount;
  user(asset: AssetCode): LedgerAccount;
  /** The shard of a system account this transaction took. */
  system(name: SystemAccount, asset: AssetCode): LedgerAccount;
  /** An account locked by id (see `pinned`). */
  account(id: bigint): LedgerAccount;
}

export class AccountDirectory {
  readonly #systemIds = new Map<string, bigint>();
  #shardCursor = 0;

  private constructor(readonly shards: number) {}

  /** Creates the system accounts (idempotently) and remembers their ids. */
  static async load(db: Database, shards: number): Promise<AccountDirectory> {
    const directory = new AccountDirectory(shards);
    await db.transaction(async (tx) => {
      const values: string[] = [];
      const params: (string | number)[] = [];
      for (const owner of Object.values(SYSTEM)) {
        for (const asset of ASSETS) {
          for (let shard = 0; shard < shards; shard++) {
            values.push("(?, ?, 'SYSTEM', ?)");
            params.push(owner, asset, shard);
          }
        }
      }
      await tx.execute(
        `insert into ledger_accounts (owner_ref, asset, kind, shard) values ${values.join(", ")}
         on conflict (owner_ref, asset, shard) do nothing`,
        params,
      );
    });
    const rows = await db.reader().find(LedgerAccount, { kind: "SYSTEM" });
    for (const row of rows) directory.#systemIds.set(systemKey(row.ownerRef, row.asset, row.shard), row.id);
    return directory;
  }

  /**
   * Creates the user's two accounts unless they exist; true for the call that created them. The
   * unique key (owner, asset, shard) makes concurrent calls wait for the first one to commit, so
   * exactly one of them sees its insert return rows (and grants the starter free operations).
   */
  async create(tx: EntityManager, userRef: string): Promise<boolean> {
    const inserted = await tx.execute<{ id: string }[]>(
      `insert into ledger_accounts (owner_ref, asset, kind) values (?, 'CREDITS', 'USER'), (?, 'FREE_OPERATIONS', 'USER')
       on conflict (owner_ref, asset, shard) do nothing returning id`,
      [userRef, userRef],
    );
    if (inserted.length === 1) throw new Error("ledger invariant: a user had only one of its two accounts");
    return inserted.length === 2;
  }

  /** Round robin over the shards: concurrent transactions of this instance use different ones. */
  nextShard(): number {
    this.#shardCursor = (this.#shardCursor + 1) % this.shards;
    return this.#shardCursor;
  }

  /**
   * Locks the user's accounts and the system shards named, in id order. Throws ACCOUNT_NOT_FOUND if
   * the user has no accounts.
   */
  async lock(
    tx: EntityManager,
    userRef: string,
    systems: readonly { name: SystemAccount; asset: AssetCode }[],
  ): Promise<LockedAccounts> {
    const locked = (await this.lockMany(tx, [{ userRef, systems }])).get(userRef);
    if (locked === undefined) throw accountNotFound(userRef);
    return locked;
  }

  /**
   * Locks the accounts of several users, and the system shards each of them names, in one query in
   * ascending id order (the one lock order of every ledger transaction, so none deadlocks). Users
   * without accounts are absent from the answer.
   */
  async lockMany(
    tx: EntityManager,
    requests: readonly {
      userRef: string;
      systems: readonly { name: SystemAccount; asset: AssetCode }[];
      /** System accounts needed by id: the counterparty of a pending transfer being resolved. */
      pinned?: readonly bigint[];
    }[],
  ): Promise<Map<string, LockedAccounts>> {
    const userRefs = [...new Set(requests.map((r) => r.userRef))];
    const shard = this.nextShard();
    const systemIds = [
      ...new Set(
        requests.flatMap((r) => [
          ...r.systems.map((s) => this.systemId(s.name, s.asset, shard)),
          ...(r.pinned ?? []),
        ]),
      ),
    ];
    const rows = await tx.find(
      LedgerAccount,
      { $or: [{ ownerRef: { $in: userRefs }, kind: "USER" }, { id: { $in: systemIds } }] },
      { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: "asc" } },
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    const locked = new Map<string, LockedAccounts>();
    for (const userRef of userRefs) {
      const credits = rows.find((r) => r.kind === "USER" && r.ownerRef === userRef && r.asset === "CREDITS");
      const freeOperations = rows.find(
        (r) => r.kind === "USER" && r.ownerRef === userRef && r.asset === "FREE_OPERATIONS",
      );
      if (credits === undefined || freeOperations === undefined) continue;
      locked.set(userRef, {
        credits,
        freeOperations,
        user: (asset) => (asset === "CREDITS" ? credits : freeOperations),
        system: (name, asset) => {
          const row = byId.get(this.systemId(name, asset, shard));
          if (row === undefined)
            throw new Error(`ledger invariant: system account ${name}/${asset} was not locked`);
          return row;
        },
        account: (id) => {
          const row = byId.get(id);
          if (row === undefined) throw new Error(`ledger invariant: account ${id} was not locked`);
          return row;
        },
      });
    }
    return locked;
  }

  /** The user's two accounts without locking (reads). */
  async read(
    em: EntityManager,
    userRef: string,
  ): Promise<{ credits: LedgerAccount; freeOperations: LedgerAccount }> {
    const rows = await em.find(LedgerAccount, { ownerRef: userRef, kind: "USER" });
    const credits = rows.find((r) => r.asset === "CREDITS");
    const freeOperations = rows.find((r) => r.asset === "FREE_OPERATIONS");
    if (credits === undefined || freeOperations === undefined) throw accountNotFound(userRef);
    return { credits, freeOperations };
  }

  systemId(name: SystemAccount, asset: AssetCode, shard: number): bigint {
    const id = this.#systemIds.get(systemKey(name, asset, shard));
    if (id === undefined)
      throw new Error(`ledger invariant: system account ${name}/${asset}#${shard} missing`);
    return id;
  }
}

function systemKey(owner: string, asset: string, shard: number): string {
  return `${owner}|${asset}|${shard}`;
}
