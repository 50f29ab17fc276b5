// The modes the bot offers and what each needs from the user. Prices are not here: they come from
// billing's price list, and a mode billing does not price is not shown.

import type { Operation } from "@billing/events";

export { isOperation, OPERATIONS, type Operation } from "@billing/events";

/** Main menu order (as in the product's menu): two per row, the last ones alone. */
export const MENU_ROWS: readonly (readonly Operation[])[] = [
  ["generate", "edit"],
  ["merge", "add_text"],
  ["face_swap", "retouch"],
  ["upscale"],
];

export type TextNeed =
  /** A description of the picture or of the change (the worker's "prompt"). */
  | "prompt"
  /** The words to draw onto the picture (add_text). */
  | "overlay"
  | "none";

export interface ModeNeeds {
  /** Photos, in order (merge and face_swap: two). */
  readonly photos: 0 | 1 | 2;
  readonly text: TextNeed;
}

/** Matches the worker's OPERATION_REQUIREMENTS (prompts optional there are not asked for here). */
export const MODE_NEEDS: Readonly<Record<Operation, ModeNeeds>> = {
  generate: { photos: 0, text: "prompt" },
  edit: { photos: 1, text: "prompt" },
  merge: { photos: 2, text: "none" },
  face_swap: { photos: 2, text: "none" },
  retouch: { photos: 1, text: "none" },
  upscale: { photos: 1, text: "none" },
  add_text: { photos: 1, text: "overlay" },
};
