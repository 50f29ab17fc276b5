// Every generated file descriptor, for server reflection and for the registry that decodes error
// details (google.rpc.*, billing.v1.InsufficientFunds) and events. Messages and services themselves
// are imported from their generated modules, e.g. "@billing/proto/billing/v1/wallet_pb".
import { createRegistry, type DescFile } from "@bufbuild/protobuf";
import { file_billing_v1_errors } from "./gen/billing/v1/errors_pb.js";
import { file_billing_v1_payments } from "./gen/billing/v1/payments_pb.js";
import { file_billing_v1_quotas } from "./gen/billing/v1/quotas_pb.js";
import { file_billing_v1_reports } from "./gen/billing/v1/reports_pb.js";
import { file_billing_v1_wallet } from "./gen/billing/v1/wallet_pb.js";
import { file_events_v1_billing } from "./gen/events/v1/billing_pb.js";
import { file_events_v1_deadletter } from "./gen/events/v1/deadletter_pb.js";
import { file_events_v1_jobs } from "./gen/events/v1/jobs_pb.js";
import { file_google_rpc_error_details } from "./gen/google/rpc/error_details_pb.js";
import { file_google_rpc_status } from "./gen/google/rpc/status_pb.js";
import { file_grpc_health_v1_health } from "./gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "./gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "./gen/grpc/reflection/v1alpha/reflection_pb.js";

/** The files billing serves or mentions in its errors; their imports (google.protobuf.*) come along. */
export const billingApiFiles: readonly DescFile[] = [
  file_billing_v1_wallet,
  file_billing_v1_payments,
  file_billing_v1_quotas,
  file_billing_v1_reports,
  file_billing_v1_errors,
  file_google_rpc_status,
  file_google_rpc_error_details,
  file_grpc_health_v1_health,
  file_grpc_reflection_v1_reflection,
  file_grpc_reflection_v1alpha_reflection,
];

/** Event payload files (NATS). */
export const eventFiles: readonly DescFile[] = [
  file_events_v1_jobs,
  file_events_v1_billing,
  file_events_v1_deadletter,
];

/** A registry of every message above, e.g. to decode google.protobuf.Any error details. */
export const protoRegistry = createRegistry(...billingApiFiles, ...eventFiles);
