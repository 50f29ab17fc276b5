// Picks the provider by name. Keys and URLs come in from the worker's parsed configuration
// (@billing/config); nothing here reads the environment.
import { FalProvider, type FalConfig } from "./fal.js";
import { GeminiProvider, type GeminiConfig } from "./gemini.js";
import { LocalProvider, type LocalProviderOptions } from "./local/local-provider.js";
import type { ImageProvider } from "./types.js";

export const PROVIDER_NAMES = ["local", "fal", "gemini"] as const;

export type ProviderName = (typeof PROVIDER_NAMES)[number];

export interface LocalSelection {
  name?: "local";
  local?: LocalProviderOptions;
}

export interface FalSelection {
  name: "fal";
  fal: FalConfig;
}

export interface GeminiSelection {
  name: "gemini";
  gemini: GeminiConfig;
}

export type ProviderConfig = LocalSelection | FalSelection | GeminiSelection;

/** `local` unless another name is given; throws at start-up on an unknown name or a bad config. */
export function createProvider(config?: LocalSelection): LocalProvider;
export function createProvider(config: ProviderConfig): ImageProvider;
export function createProvider(config: ProviderConfig = {}): ImageProvider {
  const name = config.name ?? "local";
  switch (config.name) {
    case undefined:
    case "local":
      return new LocalProvider(config.local);
    case "fal":
      return new FalProvider(config.fal);
    case "gemini":
      return new GeminiProvider(config.gemini);
    default:
      throw new Error(
        `unknown image provider ${JSON.stringify(name)}; expected one of ${PROVIDER_NAMES.join(", ")}`,
      );
  }
}
