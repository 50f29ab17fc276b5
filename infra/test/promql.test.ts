// The metric names read from a dashboard query: functions, keywords, labels, strings and recording
// rules are told apart, so the live check neither misses a metric nor flags a label.
import { describe, expect, it } from "vitest";
import { metricNamesOf } from "./promql.js";

describe("metricNamesOf", () => {
  it("finds metrics and recording rules, not functions, labels, grouping or strings", () => {
    expect(
      metricNamesOf(
        'histogram_quantile(0.99, sum by (le, app) (rate(billing_rpc_duration_seconds_bucket{code=~"Internal|ok"}[5m])))',
      ),
    ).toEqual(["billing_rpc_duration_seconds_bucket"]);
    expect(
      metricNamesOf(
        "sum(increase(a_total[1d])) / sum without (x) (b_total offset 1h) and on (app) worker:job_duration_seconds:mean5m",
      ),
    ).toEqual(["a_total", "b_total", "worker:job_duration_seconds:mean5m"]);
    expect(metricNamesOf('max(up{app="billing"}) == 0')).toEqual(["up"]);
  });
});
