// Which source pays for an operation: a free operation if one is left, else credits; nothing for an
// operation priced 0. Pure.

export type Funding =
  | { source: "NONE"; amount: 0n }
  | { source: "FREE_OPERATION"; amount: 1n }
  | { source: "CREDITS"; amount: bigint };

export function chooseFunding(
  priceCredits: bigint,
  available: { credits: bigint; freeOperations: bigint },
): Funding | undefined {
  if (priceCredits === 0n) return { source: "NONE", amount: 0n };
  if (available.freeOperations >= 1n) return { source: "FREE_OPERATION", amount: 1n };
  if (available.credits >= priceCredits) return { source: "CREDITS", amount: priceCredits };
  return undefined;
}
