// Today's active users and this month's payment conversion as gauges, so dashboards can show the
// ReportService figures. Computed at most once a minute, whatever the scrape rate.
import { Gauge, type Registry } from "@billing/observability";
import type { ProductReport, Reports } from "./index.js";

const REFRESH_MS = 60_000;

export function registerReportGauges(registry: Registry, reports: () => Reports | undefined): void {
  let cached: { at: number; report: ProductReport } | undefined;
  let loading: Promise<ProductReport | undefined> | undefined;
  const current = async (): Promise<ProductReport | undefined> => {
    const source = reports();
    if (source === undefined) return undefined;
    if (cached !== undefined && Date.now() - cached.at < REFRESH_MS) return cached.report;
    loading ??= source
      .productReport(source.today())
      .then((report) => {
        cached = { at: Date.now(), report };
        return report;
      })
      .catch(() => cached?.report)
      .finally(() => (loading = undefined));
    return loading;
  };
  new Gauge({
    name: "billing_report_active_users",
    help: "Users active today (window=day) and this calendar month (window=month), in billing's time zone",
    labelNames: ["window"] as const,
    registers: [registry],
    async collect() {
      const report = await current();
      if (report === undefined) return;
      this.set({ window: "day" }, Number(report.dailyActiveUsers));
      this.set({ window: "month" }, Number(report.monthlyActiveUsers));
    },
  });
  new Gauge({
    name: "billing_report_payment_conversion_ratio",
    help: "This month: users whose top-up succeeded / users who opened a top-up (0 when none opened)",
    registers: [registry],
    async collect() {
      const report = await current();
      if (report === undefined) return;
      const opened = Number(report.usersOpenedTopUp);
      this.set(opened === 0 ? 0 : Number(report.usersPaid) / opened);
    },
  });
}
