// Which services the server exposes. Handlers are thin; the context supplies the domain.
import type { ConnectRouter } from "@connectrpc/connect";
import { Health } from "@billing/proto/grpc/health/v1/health_pb";
import { ServerReflection as ReflectionV1 } from "@billing/proto/grpc/reflection/v1/reflection_pb";
import { ServerReflection as ReflectionV1alpha } from "@billing/proto/grpc/reflection/v1alpha/reflection_pb";
import { QuotaService } from "@billing/proto/billing/v1/quotas_pb";
import { WalletService } from "@billing/proto/billing/v1/wallet_pb";
import { PaymentService } from "@billing/proto/billing/v1/payments_pb";
import { ReportService } from "@billing/proto/billing/v1/reports_pb";
import { billingApiFiles } from "@billing/proto";
import { type HealthState, healthService } from "./rpc/health.js";
import { ReflectionIndex, reflectionV1, reflectionV1alpha } from "./rpc/reflection.js";
import { quotaService, type QuotaDeps } from "./rpc/quotas.js";
import { walletService, type WalletDeps } from "./rpc/wallet.js";
import { paymentService, type PaymentsDeps } from "./rpc/payments.js";
import { reportService, type ReportsDeps } from "./rpc/reports.js";

/** The billing services, by their full names (health reports each of them). */
export const BILLING_SERVICES = [WalletService, PaymentService, QuotaService, ReportService] as const;

export type BillingContext = WalletDeps & PaymentsDeps & QuotaDeps & ReportsDeps;

export function routes(context: BillingContext, health: HealthState) {
  const served = [...BILLING_SERVICES, Health, ReflectionV1, ReflectionV1alpha].map((s) => s.typeName);
  const reflection = new ReflectionIndex(billingApiFiles, served);
  return (router: ConnectRouter) => {
    router.service(WalletService, walletService(context));
    router.service(PaymentService, paymentService(context));
    router.service(QuotaService, quotaService(context));
    router.service(ReportService, reportService(context));
    router.service(Health, healthService(health));
    router.service(ReflectionV1, reflectionV1(reflection));
    router.service(ReflectionV1alpha, reflectionV1alpha(reflection));
  };
}
