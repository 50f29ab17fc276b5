// Counts billing's calls to YooKassa by operation and outcome ("ok" or the client's closed error
// kind, e.g. internal_server_error after every retry), for the dashboards and the YooKassa alert.
import { Counter, type Registry } from "@billing/observability";
import { isYooKassaError, type YooKassaClient } from "@billing/yookassa";

const OPERATIONS = [
  "createPayment",
  "getPayment",
  "capturePayment",
  "cancelPayment",
  "createRefund",
  "getRefund",
  "listRefunds",
] as const;

/** Returns a wrapper that counts every call of a client (undefined when payments are disabled). */
export function yooKassaObserver(
  registry: Registry,
): (client: YooKassaClient | undefined) => YooKassaClient | undefined {
  const calls = new Counter({
    name: "billing_yookassa_calls_total",
    help: "Calls to the YooKassa API (after the client's own retries), by operation and outcome",
    labelNames: ["operation", "outcome"] as const,
    registers: [registry],
  });
  for (const operation of OPERATIONS) {
    for (const outcome of ["ok", "internal_server_error"]) calls.inc({ operation, outcome }, 0);
  }
  const counted =
    <A extends unknown[], R>(operation: string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        const result = await call(...args);
        calls.inc({ operation, outcome: "ok" });
        return result;
      } catch (error) {
        calls.inc({ operation, outcome: isYooKassaError(error) ? error.kind : "other" });
        throw error;
      }
    };
  return (client) => {
    if (client === undefined) return undefined;
    return {
      createPayment: counted("createPayment", client.createPayment.bind(client)),
      getPayment: counted("getPayment", client.getPayment.bind(client)),
      capturePayment: counted("capturePayment", client.capturePayment.bind(client)),
      cancelPayment: counted("cancelPayment", client.cancelPayment.bind(client)),
      createRefund: counted("createRefund", client.createRefund.bind(client)),
      getRefund: counted("getRefund", client.getRefund.bind(client)),
      listRefunds: counted("listRefunds", client.listRefunds.bind(client)),
    };
  };
}
