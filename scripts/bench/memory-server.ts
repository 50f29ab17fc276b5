// Baseline 1, the framework's ceiling: the same connect-node HTTP/2 stack answering Charge, Reserve
// and Commit from process memory (same rules: free operation first, then credits; idempotency keys;
// holds posted once), no database.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { FundingSource, WalletService } from "@billing/proto/billing/v1/wallet_pb";

const PRICE = 10n;
const accounts = new Map<string, { credits: bigint; free: bigint }>();
const keys = new Map<string, unknown>();
const holds = new Map<string, { userRef: string; amount: bigint; posted: boolean }>();

/** Free operation first, then credits; throws without funds. */
function fund(userRef: string): FundingSource {
  const account = accounts.get(userRef);
  if (account === undefined) throw new ConnectError("no account", Code.NotFound);
  if (account.free > 0n) {
    account.free--;
    return FundingSource.FREE_OPERATION;
  }
  if (account.credits >= PRICE) {
    account.credits -= PRICE;
    return FundingSource.CREDITS;
  }
  throw new ConnectError("insufficient funds", Code.FailedPrecondition);
}

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
        const fundedBy = fund(request.userRef);
        const answer = {
          transferId: crypto.randomUUID(),
          fundedBy,
          amountCredits: PRICE,
          priceCredits: PRICE,
        };
        keys.set(request.idempotencyKey, answer);
        return answer;
      },
      reserve(request) {
        const replay = keys.get(request.idempotencyKey);
        if (replay !== undefined) return replay as { hold: { holdId: string } };
        fund(request.userRef);
        const holdId = crypto.randomUUID();
        holds.set(holdId, { userRef: request.userRef, amount: PRICE, posted: false });
        const answer = { hold: { holdId, userRef: request.userRef, amountCredits: PRICE } };
        keys.set(request.idempotencyKey, answer);
        return answer;
      },
      commit(request) {
        const hold = holds.get(request.holdId);
        if (hold === undefined) throw new ConnectError("no hold", Code.NotFound);
        hold.posted = true;
        return { hold: { holdId: request.holdId, userRef: hold.userRef, postedAmount: hold.amount } };
      },
    }),
});
const server = http2.createServer(handler);
server.listen(0, "127.0.0.1", () =>
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })),
);
process.on("SIGTERM", () => process.exit(0));
