import { expect, test } from "bun:test";
import diagnostics from "node:diagnostics_channel";
import { polyfillTracingChannel } from "../../src/store/tracing-polyfill.ts";

test("a tracing channel reports subscribers the way Node's does, so ioredis skips tracing", () => {
  polyfillTracingChannel();
  polyfillTracingChannel();
  const channel = diagnostics.tracingChannel("kvfleet:test");
  expect(channel.hasSubscribers).toBe(false);
  for (const part of ["start", "end", "asyncStart", "asyncEnd", "error"]) {
    const listener = () => {};
    diagnostics.subscribe(`tracing:kvfleet:test:${part}`, listener);
    expect(channel.hasSubscribers).toBe(true);
    diagnostics.unsubscribe(`tracing:kvfleet:test:${part}`, listener);
    expect(channel.hasSubscribers).toBe(false);
  }
});
