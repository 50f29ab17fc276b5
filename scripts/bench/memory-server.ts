// Baseline 1, the framework's ceiling: the same connect-node HTTP/2 stack answering Charge from
// process memory (same rules: free operation first, then credits; idempotency keys), no database.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { FundingSource, WalletService } from "@billing/proto/billing/v1/wallet_pb";

const PRICE = 10n;
const accounts = new Map<string, { credits: bigint; free: bigint }>();
const keys = new Map<string, unknown>();

const handler = connectNodeAdapter({
  routes: (router) =>
    router.service(WalletService, {
      openAccount(request) {
        const created = !accounts.has(request.userRef);
        if (created) accounts.set(request.userRef, { credits: 0n, free: 4n });
        return { userRef: request.userRef, created };
      },
      grant(request) {
        const account = accounts.get(request.userRef);
        if (account === undefined) throw new ConnectError("no account", Code.NotFound);
        account.credits += request.amountCredits;
        return { transferIds: [] };
      },
      charge(request) {
        const replay = keys.get(request.idempotencyKey);
        if (replay !== undefined) return replay as { transferId: string };
        const account = accounts.get(request.userRef);
        if (account === undefined) throw new ConnectError("no account", Code.NotFound);
        let fundedBy: FundingSource;
        if (account.free > 0n) {
          account.free--;
          fundedBy = FundingSource.FREE_OPERATION;
        } else if (account.credits >= PRICE) {
          account.credits -= PRICE;
          fundedBy = FundingSource.CREDITS;
        } else throw new ConnectError("insufficient funds", Code.FailedPrecondition);
        const answer = {
          transferId: crypto.randomUUID(),
          fundedBy,
          amountCredits: PRICE,
          priceCredits: PRICE,
        };
        keys.set(request.idempotencyKey, answer);
        return answer;
      },
    }),
});
const server = http2.createServer(handler);
server.listen(0, "127.0.0.1", () =>
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })),
);
process.on("SIGTERM", () => process.exit(0));
