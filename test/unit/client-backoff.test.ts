import { expect, test } from "bun:test";
import { delays } from "../../client/src/backoff.ts";

const backoff = { attempts: 8, minDelay: 100, maxDelay: 1000 };

test("delays double from minDelay up to maxDelay, one per attempt", () => {
  expect([...delays(backoff, () => 1)]).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
});

test("jitter draws each delay between half and all of it", () => {
  expect([...delays(backoff, () => 0)]).toEqual([50, 100, 200, 400, 500, 500, 500, 500]);
  for (const delay of delays({ ...backoff, attempts: 100 })) {
    expect(delay).toBeGreaterThanOrEqual(50);
    expect(delay).toBeLessThanOrEqual(1000);
  }
});
