// Baseline 2, the seed design done straightforwardly: a `users` row with free_operations_left and a
// balance, one transaction per request (lock the row, update it, insert an operation row with a
// unique idempotency key), on the same connect-node + MikroORM stack as billing.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { MikroORM } from "@mikro-orm/postgresql";
import { FundingSource, WalletService } from "@billing/proto/billing/v1/wallet_pb";

const PRICE = 10n;
const databaseUrl = process.env.DATABASE_URL;
if (databaseUrl === undefined) throw new Error("DATABASE_URL is required");
const orm = await MikroORM.init({
  clientUrl: databaseUrl,
  entities: [],
  discovery: { warnWhenNoEntities: false },
  pool: { min: 0, max: 20 },
});
await orm.schema.ensureDatabase({ create: true });
await orm.em.fork().execute(`
  create table if not exists users (id bigserial primary key, user_ref text unique not null,
    free_operations_left int not null default 4, balance bigint not null default 0 check (balance >= 0));
  create table if not exists operations (id bigserial primary key, user_id bigint not null references users(id),
    operation text not null, amount bigint not null, funded_by text not null, idempotency_key text unique not null,
    created_at timestamptz not null default now())`);

const handler = connectNodeAdapter({
  routes: (router) =>
    router.service(WalletService, {
      async openAccount(request) {
        const rows = await orm.em
          .fork()
          .execute(`insert into users (user_ref) values (?) on conflict do nothing returning id`, [
            request.userRef,
          ]);
        return { userRef: request.userRef, created: rows.length > 0 };
      },
      async grant(request) {
        await orm.em
          .fork()
          .execute(`update users set balance = balance + ? where user_ref = ?`, [
            request.amountCredits,
            request.userRef,
          ]);
        return { transferIds: [] };
      },
      async charge(request) {
        return orm.em.fork().transactional(async (tx) => {
          const [user] = await tx.execute<{ id: string; free_operations_left: number; balance: string }[]>(
            `select id, free_operations_left, balance from users where user_ref = ? for update`,
            [request.userRef],
          );
          if (user === undefined) throw new ConnectError("no account", Code.NotFound);
          const done = await tx.execute(`select id from operations where idempotency_key = ?`, [
            request.idempotencyKey,
          ]);
          if (done.length > 0) return { transferId: String(done[0]?.id) };
          let fundedBy: FundingSource;
          if (user.free_operations_left > 0) {
            await tx.execute(
              `update users set free_operations_left = free_operations_left - 1 where id = ?`,
              [user.id],
            );
            fundedBy = FundingSource.FREE_OPERATION;
          } else if (BigInt(user.balance) >= PRICE) {
            await tx.execute(`update users set balance = balance - ? where id = ?`, [PRICE, user.id]);
            fundedBy = FundingSource.CREDITS;
          } else throw new ConnectError("insufficient funds", Code.FailedPrecondition);
          const [op] = await tx.execute<{ id: string }[]>(
            `insert into operations (user_id, operation, amount, funded_by, idempotency_key) values (?, ?, ?, ?, ?) returning id`,
            [user.id, request.operation, PRICE, FundingSource[fundedBy], request.idempotencyKey],
          );
          return { transferId: String(op?.id), fundedBy, amountCredits: PRICE, priceCredits: PRICE };
        });
      },
    }),
});
const server = http2.createServer(handler);
server.listen(0, "127.0.0.1", () =>
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })),
);
process.on("SIGTERM", () => void orm.close().then(() => process.exit(0)));
