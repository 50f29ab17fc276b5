export {
  createBillingClient,
  type BillingClient,
  type BillingClientOptions,
  type BillingProtocol,
} from "./client.js";
export { detail, errorReason, fieldViolations, insufficientFunds, quotaFailure } from "./errors.js";
export { Code, ConnectError } from "@connectrpc/connect";
