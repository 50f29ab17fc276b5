import { describe, expect, it } from "vitest";
import { sumOfSamples } from "../src/metrics.js";

const TEXT = `# HELP jobs_total Jobs.
# TYPE jobs_total counter
jobs_total{result="ok",operation="generate"} 3
jobs_total{result="ok",operation="retouch"} 4
jobs_total{result="failed",operation="generate"} 1
jobs_total_other{result="ok"} 100
queue_depth 7
odd{path="a\\"b",x="1"} 2
`;

describe("sumOfSamples", () => {
  it("sums the series whose labels include every asked pair, exactly", () => {
    expect(sumOfSamples(TEXT, "jobs_total")).toBe(8);
    expect(sumOfSamples(TEXT, "jobs_total", { result: "ok" })).toBe(7);
    expect(sumOfSamples(TEXT, "jobs_total", { result: "ok", operation: "retouch" })).toBe(4);
    // A label value is matched whole, and a longer metric name is another metric.
    expect(sumOfSamples(TEXT, "jobs_total", { result: "o" })).toBe(0);
    expect(sumOfSamples(TEXT, "jobs_total_other")).toBe(100);
  });

  it("reads unlabelled series, escaped values, and says 0 for an absent metric", () => {
    expect(sumOfSamples(TEXT, "queue_depth")).toBe(7);
    expect(sumOfSamples(TEXT, "odd", { x: "1" })).toBe(2);
    expect(sumOfSamples(TEXT, "absent_total")).toBe(0);
  });
});
