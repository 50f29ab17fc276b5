// ReportService handlers: validate the day, ask the reports context, map to proto. Nothing else.
import type { ServiceImpl } from "@connectrpc/connect";
import type { ReportService } from "@billing/proto/billing/v1/reports_pb";
import type { Reports } from "../reports/index.js";
import { validate } from "./validate.js";

export interface ReportsDeps {
  readonly reports: Reports;
}

const DAY = /^(2\d{3})-(\d{2})-(\d{2})$/;

/** A real calendar date YYYY-MM-DD within 2000-2999 (PostgreSQL then reads it unambiguously). */
function isDay(value: string): boolean {
  const match = DAY.exec(value);
  if (match === null) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

export function reportService(deps: ReportsDeps): ServiceImpl<typeof ReportService> {
  return {
    async getProductReport(request) {
      const day = validate((v) => {
        v.check(
          isDay(request.day),
          "day",
          "must be a calendar date YYYY-MM-DD between 2000-01-01 and 2999-12-31",
        );
        return request.day;
      });
      const report = await deps.reports.productReport(day);
      return { ...report, generations: report.generations.map((row) => ({ ...row })) };
    },
  };
}
