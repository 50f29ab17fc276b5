// Parameter shapes shared by the catalogues.

/** What an operation cost the user. */
export type Cost =
  | { readonly kind: "free_operation" }
  | { readonly kind: "credits"; readonly credits: bigint }
  | { readonly kind: "nothing" };

/** What came back to the user when an operation did not happen. */
export type Returned =
  /** Returned, but we could not tell what (billing did not answer). */
  | { readonly kind: "payment" }
  | { readonly kind: "free_operation" }
  | { readonly kind: "credits"; readonly credits: bigint }
  | { readonly kind: "nothing" };

export type StatementKind =
  | "starter_grant"
  | "grant"
  | "charge"
  | "hold"
  | "hold_posted"
  | "hold_voided"
  | "hold_expired"
  | "refund"
  | "top_up"
  | "top_up_stars"
  | "payment_refund"
  | "credits_expired"
  | "other";

/** One statement entry, ready to print. */
export interface StatementLine {
  readonly kind: StatementKind;
  readonly asset: "credits" | "free_operations";
  /** Signed change of the available balance. */
  readonly amount: bigint;
  /** The operation's name in the user's language ("" when none). */
  readonly operation: string;
  /** Date and time, already formatted in the bot's time zone. */
  readonly when: string;
}
