// @billing/events: NATS names under a namespace, streams/consumers/buckets as code, typed publish of
// protobuf events with Nats-Msg-Id, and a bounded, acking-after-the-effect consume helper.
export { connectNats, type ConnectOptions } from "./connect.js";
export {
  connectAndSetUp,
  setUpDelayMs,
  watchConnection,
  type ConnectionWatch,
  type SetUp,
  type SetUpOptions,
} from "./setup.js";
export {
  ack,
  deadLetter,
  defaultRetryDelayMs,
  MAX_CONCURRENCY,
  MAX_NAK_DELAY_MS,
  nak,
  startConsumer,
  type ConsumeOptions,
  type Delivery,
  type Outcome,
  type RunningConsumer,
  type SettledKind,
} from "./consume.js";
export {
  botBillingConsumer,
  botResultsConsumer,
  DEFAULT_BOT_CONSUMER,
  DEFAULT_WORKER_CONSUMER,
  ensureConsumer,
  workerConsumer,
  type ConsumerBounds,
  type ConsumerDefinition,
} from "./consumers.js";
export { natsDefinitionFiles } from "./definitions.js";
export {
  BUCKETS,
  DURABLES,
  natsNames,
  STREAMS,
  SUBJECTS,
  type BucketKey,
  type NatsNames,
  type StreamKey,
} from "./names.js";
export {
  bucketConfigs,
  bucketOf,
  DEFAULT_BUCKET_LIMITS,
  ensureBuckets,
  findImage,
  ImageUnavailableError,
  MAX_IMAGE_BYTES,
  putImage,
  putNewImage,
  readImage,
  sha256Hex,
  type BucketLimits,
  type BucketOptions,
  type JobBuckets,
} from "./objects.js";
export {
  BILLING_EVENT_SUBJECTS,
  publishBillingEventBytes,
  publishDeadLetter,
  publishGenerationCompleted,
  publishGenerationFailed,
  publishGenerationRequested,
  publishMessage,
  publishRaw,
  resultMsgId,
  type PublishOptions,
  type RawMessage,
} from "./publish.js";
export {
  DEFAULT_STREAM_LIMITS,
  differingFields,
  ensureStream,
  ensureStreams,
  streamConfigs,
  type EnsureOutcome,
  type StreamLimits,
  type StreamOptions,
} from "./streams.js";
export {
  bucketOptionsFor,
  COMPACT_BUCKET_OPTIONS,
  COMPACT_STREAM_OPTIONS,
  deleteNamespace,
  openNamespace,
  type OwnNamespace,
  streamOptionsFor,
} from "./cleanup.js";
// The NATS client pieces apps need next to these helpers, so that apps depend on @billing/events only.
export { jetstream, jetstreamManager } from "@nats-io/jetstream";
export type { JetStreamClient, JetStreamManager, JsMsg, PubAck } from "@nats-io/jetstream";
export type { NatsConnection } from "@nats-io/nats-core";
export type { ObjectStore } from "@nats-io/obj";
export { isOperation, OPERATIONS, type Operation } from "./operations.js";
