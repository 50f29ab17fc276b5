// The operations a generation job may name (GenerationRequested.operation): one vocabulary for the
// bot that asks and the worker that draws. Prices are not here; they come from billing's price list.

export const OPERATIONS = [
  "generate",
  "edit",
  "merge",
  "face_swap",
  "retouch",
  "upscale",
  "add_text",
] as const;

export type Operation = (typeof OPERATIONS)[number];

export function isOperation(value: string): value is Operation {
  return (OPERATIONS as readonly string[]).includes(value);
}
