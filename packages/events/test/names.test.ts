import { describe, expect, it } from "vitest";
import { natsNames } from "../src/index.js";

describe("natsNames", () => {
  it("uses the production names of DESIGN.md in the empty namespace", () => {
    const names = natsNames();
    expect(names.streams).toEqual({
      jobs: "JOBS",
      jobResults: "JOBS_RESULTS",
      billingEvents: "BILLING_EVENTS",
      deadLetter: "DEADLETTER",
    });
    expect(names.subjects.generationRequested).toBe("jobs.generation.requested");
    expect(names.subjects.billing).toBe("billing.>");
    expect(names.subject("billing.hold.expired")).toBe("billing.hold.expired");
    expect(names.buckets).toEqual({ jobInputs: "job-inputs", jobResults: "job-results" });
    expect(names.durables.worker).toBe("worker");
  });

  it("prefixes every name and subject in a test namespace, and maps subjects back", () => {
    const names = natsNames("t_jobs_1a2b3c4d");
    expect(names.streams.jobs).toBe("t_jobs_1a2b3c4d_JOBS");
    expect(names.subjects.generationCompleted).toBe("t_jobs_1a2b3c4d.jobs.generation.completed");
    expect(names.subjects.deadLetter).toBe("t_jobs_1a2b3c4d.deadletter.>");
    expect(names.subject("billing.hold.expired")).toBe("t_jobs_1a2b3c4d.billing.hold.expired");
    expect(names.baseSubject("t_jobs_1a2b3c4d.billing.hold.expired")).toBe("billing.hold.expired");
    expect(() => names.baseSubject("billing.hold.expired")).toThrow(/not in namespace/);
    expect(names.buckets.jobResults).toBe("t_jobs_1a2b3c4d_job-results");
    expect(names.durables.worker).toBe("t_jobs_1a2b3c4d_worker");
  });

  it("refuses a namespace that would break subjects or names", () => {
    for (const bad of ["a.b", "with space", "UPPER", "x>", "a*", "n".repeat(41)]) {
      expect(() => natsNames(bad)).toThrow(/namespace/);
    }
  });
});
