// The image provider layer of the worker: one interface, three implementations, one error type.
export { OPERATIONS, isOperation } from "./types.js";
export type {
  GeneratedImage,
  GenerationInput,
  ImageProvider,
  InputImage,
  Operation,
  OutputMimeType,
} from "./types.js";
export {
  MAX_RETRY_AFTER_MS,
  PROVIDER_ERROR_KINDS,
  ProviderError,
  isProviderError,
  retryDelayMs,
  toProviderError,
} from "./errors.js";
export type { BackoffOptions, ProviderErrorCode, ProviderErrorKind, ProviderErrorOptions } from "./errors.js";
export { DEFAULT_INPUT_LIMITS, OPERATION_REQUIREMENTS, validateGenerationInput } from "./validate.js";
export type { InputLimits, ValidatedImage } from "./validate.js";
export { readImageHeader } from "./image-header.js";
export type { ImageHeader } from "./image-header.js";
export { LocalProvider } from "./local/local-provider.js";
export type { LocalFault, LocalProviderOptions } from "./local/local-provider.js";
export { DEFAULT_FAL_ROUTES, FalProvider } from "./fal.js";
export type { FalConfig, FalRoute } from "./fal.js";
export { DEFAULT_GEMINI_MODEL, GeminiProvider } from "./gemini.js";
export type { GeminiConfig } from "./gemini.js";
export { PROVIDER_NAMES, createProvider } from "./factory.js";
export type {
  FalSelection,
  GeminiSelection,
  LocalSelection,
  ProviderConfig,
  ProviderName,
} from "./factory.js";
