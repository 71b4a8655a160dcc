import { expect, test } from "bun:test";
import { Deadlines } from "../../client/src/deadlines.ts";

test("items expire oldest first, each after the delay from when it was added; deleted ones never", async () => {
  const expired: { item: string; after: number }[] = [];
  const start = Date.now();
  let done = () => {};
  const deadlines = new Deadlines<string>(60, (item) => {
    expired.push({ item, after: Date.now() - start });
    if (expired.length === 2) done();
  });
  deadlines.add("a");
  deadlines.add("gone");
  deadlines.delete("gone");
  // Not a wait for something: b is added 30 ms after a.
  await new Promise((resolve) => setTimeout(resolve, 30));
  deadlines.add("b");
  await new Promise<void>((resolve) => {
    done = resolve;
  });
  expect(expired.map(({ item }) => item)).toEqual(["a", "b"]);
  expect(expired[0]?.after).toBeGreaterThanOrEqual(59);
  expect(expired[1]?.after).toBeGreaterThanOrEqual(89);
});
