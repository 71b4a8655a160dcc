import diagnostics from "node:diagnostics_channel";

/**
 * Bun's TracingChannel lacks Node's `hasSubscribers` getter. ioredis reads it
 * before every command and, finding `undefined`, wraps each command in a
 * traced promise with a freshly built context even though nobody listens:
 * about 15% of a node's CPU under load. Node's definition, added where missing.
 */
export function polyfillTracingChannel(): void {
  const prototype = Object.getPrototypeOf(diagnostics.tracingChannel("kvfleet:probe"));
  if ("hasSubscribers" in prototype) return;
  Object.defineProperty(prototype, "hasSubscribers", {
    get(this: Record<"start" | "end" | "asyncStart" | "asyncEnd" | "error", diagnostics.Channel>) {
      return (
        this.start.hasSubscribers ||
        this.end.hasSubscribers ||
        this.asyncStart.hasSubscribers ||
        this.asyncEnd.hasSubscribers ||
        this.error.hasSubscribers
      );
    },
  });
}
