// Reports: the product figures that need distinct users or exact sums (ReportService), over the
// ledger and payments. Read-only; the public face of the context.
import type { Database } from "../db/database.js";
import type { Clock } from "../domain/clock.js";
import {
  activeUsers,
  committedJobs,
  generationsByOperation,
  type OperationRow,
  periodsOf,
  topUpFunnel,
} from "./store.js";

export interface ProductReport {
  day: string;
  timeZone: string;
  dailyActiveUsers: bigint;
  monthlyActiveUsers: bigint;
  generations: OperationRow[];
  generationsTotal: bigint;
  paidGenerations: bigint;
  creditsSpent: bigint;
  usersOpenedTopUp: bigint;
  usersPaid: bigint;
  jobsCommitted: bigint;
  jobTimeMeanMs: bigint;
}

export class Reports {
  constructor(
    readonly db: Database,
    readonly config: { timeZone: string },
    readonly clock: Clock,
  ) {}

  /** Today in billing's time zone, as YYYY-MM-DD. */
  today(): string {
    return new Intl.DateTimeFormat("en-CA", { timeZone: this.config.timeZone }).format(this.clock.now());
  }

  async productReport(day: string): Promise<ProductReport> {
    const em = this.db.reader();
    const periods = await periodsOf(em, day, this.config.timeZone);
    const [dau, mau, generations, funnel, jobs] = await Promise.all([
      activeUsers(em, periods.day),
      activeUsers(em, periods.month),
      generationsByOperation(em, periods.day),
      topUpFunnel(em, periods.month),
      committedJobs(em, periods.day),
    ]);
    const total = (pick: (row: OperationRow) => bigint) =>
      generations.reduce((sum, row) => sum + pick(row), 0n);
    return {
      day,
      timeZone: this.config.timeZone,
      dailyActiveUsers: dau,
      monthlyActiveUsers: mau,
      generations,
      generationsTotal: total((row) => row.generations),
      paidGenerations: total((row) => row.paidGenerations),
      creditsSpent: total((row) => row.creditsSpent),
      usersOpenedTopUp: funnel.opened,
      usersPaid: funnel.paid,
      jobsCommitted: jobs.jobs,
      jobTimeMeanMs: jobs.meanMs,
    };
  }
}
