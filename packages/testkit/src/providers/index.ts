// Fakes of the hosted image providers (fal.ai queue API, Gemini API) for adapter and end-to-end tests.
export { startFakeFal } from "./fake-fal.js";
export type { FakeFal, FakeFalOptions, FalFault, FalStage, FalSubmission } from "./fake-fal.js";
export { startFakeGemini } from "./fake-gemini.js";
export type { FakeGemini, FakeGeminiOptions, GeminiCall, GeminiFault } from "./fake-gemini.js";
export type { RecordedRequest as ProviderRecordedRequest, TransportFault } from "./fake-server.js";
export { decodeDataUri, encodeTestPng, sampleOutputPng } from "./png.js";
export type { Rgba } from "./png.js";
