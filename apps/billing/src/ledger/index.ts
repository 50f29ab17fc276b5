// The ledger context's public face: what rpc/ and the other contexts may use.
export { Ledger, type LedgerConfig } from "./ledger.js";
export type { ChargeCommand, ReserveCommand } from "./spending.js";
export type { LowBalanceThresholdResult, SetLowBalanceThresholdCommand } from "./low-balance.js";
export { LOW_BALANCE_THRESHOLD_MAX_CREDITS } from "./rules/low-balance.js";
export { HOLD_TIMEOUT_DEFAULT_MS, HOLD_TIMEOUT_MAX_MS, HOLD_TIMEOUT_MIN_MS } from "./rules/holds.js";
export { PAGE_SIZE_MAX } from "./store/statement.js";
export { LOT_PRIORITY_MAX, lotAvailable } from "./rules/lots.js";
export type { InvariantCheck } from "./store/verify.js";
export type * from "./types.js";
export type { HoldExpectation } from "./rules/hold-expectation.js";
