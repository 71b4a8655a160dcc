import { describe, expect, test } from "bun:test";
import { histogramSamples, renderFamilies } from "../../src/server/exposition.ts";

describe("Prometheus exposition", () => {
  test("HELP, TYPE and samples; label values and help escaped", () => {
    const text = renderFamilies([
      {
        name: "x_total",
        type: "counter",
        help: 'a \\ b\nc "d"',
        samples: () => [{ value: 3, labels: { path: 'a"b\\c\nd' } }, { value: 0.5 }],
      },
    ]);
    expect(text).toBe(
      '# HELP x_total a \\\\ b\\nc "d"\n# TYPE x_total counter\n' +
        'x_total{path="a\\"b\\\\c\\nd"} 3\nx_total 0.5\n',
    );
  });

  test("a histogram's buckets are cumulative, end at +Inf, and count what they hold", () => {
    const samples = histogramSamples([0.1, 1], [2, 0, 5], 9.5, { command: "KV_GET" });
    const text = renderFamilies([
      { name: "d_seconds", type: "histogram", help: "h", samples: () => samples },
    ]);
    expect(text.split("\n").slice(2, -1)).toEqual([
      'd_seconds_bucket{le="0.1",command="KV_GET"} 2',
      'd_seconds_bucket{le="1",command="KV_GET"} 2',
      'd_seconds_bucket{le="+Inf",command="KV_GET"} 7',
      'd_seconds_sum{command="KV_GET"} 9.5',
      'd_seconds_count{command="KV_GET"} 7',
    ]);
  });
});
