// The pure rules of payments (rules/): the catalogue, the one lifecycle of payments and refunds,
// what must agree with YooKassa or with Telegram (Stars), what a refund takes back, paging. No I/O
// anywhere in them.
export * from "./rules/catalogue.js";
export * from "./rules/errors.js";
export * from "./rules/lifecycle.js";
export * from "./rules/mismatches.js";
export * from "./rules/paging.js";
export * from "./rules/refunds.js";
export * from "./rules/stars.js";
