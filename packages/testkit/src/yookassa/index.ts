// The local YooKassa fake: API v3, control API, checkout page, notifications and fault injection.
export { DECLINE_REASONS, startFakeYooKassa } from "./fake.js";
export type { FakeYooKassa, FakeYooKassaOptions, SendNotificationOptions } from "./fake.js";
export { IDEMPOTENCE_WINDOW_MS } from "./idempotence.js";
export type { QueuedQuirk } from "./notifier.js";
export { FAKE_ENDPOINTS } from "./types.js";
export type {
  EmittedNotification,
  FakeCancellationDetails,
  FakeEndpoint,
  FakeFault,
  FakePaymentObject,
  FakePaymentStatus,
  FakeRefundList,
  FakeRefundObject,
  FakeRefundStatus,
  NotificationDelivery,
  NotificationQuirk,
  RecordedRequest,
  WireAmount,
} from "./types.js";
