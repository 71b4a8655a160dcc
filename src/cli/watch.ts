import type { KvfleetError } from "kvfleet-client";
import { type Parsed, UsageError } from "./args.ts";
import { Exit, type Job, type Session } from "./command.ts";

/**
 * `watch`: prints every change event under the prefixes and keys until interrupted, then
 * closes the watch and exits 0. A line is `op<TAB>key<TAB>value` (as many fields as the event
 * has: `clear` and `reset` have only the op), with --json `{"op":…,"key":…,"value":…}`.
 * Once the watch is live a note says so on stderr: whoever starts a watch and then writes
 * (a script, a test) knows from it that no change after it will be missed. When the client
 * gives up on the connection the watch has ended without the user: that error is thrown.
 */
export function watch(parsed: Parsed): Job {
  const prefixes = parsed.flags.prefix ?? [];
  const keys = parsed.flags.key ?? [];
  if (prefixes.length === 0 && keys.length === 0) {
    throw new UsageError("watch needs --prefix P or --key K (--prefix '' watches every key)");
  }
  return (session) => watchUntilInterrupted(session, prefixes, keys);
}

async function watchUntilInterrupted(
  { db, out, interrupted }: Session,
  prefixes: string[],
  keys: string[],
): Promise<number> {
  let lost: (error: KvfleetError) => void = () => {};
  const ended = new Promise<never>((_, reject) => {
    lost = reject;
  });
  // Raced below; after an interrupt nobody awaits it any more.
  ended.catch(() => {});
  const watching = await db.watch({ prefixes, keys }, (event) => {
    if (event.op === "closed") return lost(event.error);
    const value = "value" in event ? event.value : undefined;
    const key = "key" in event ? event.key : undefined;
    const text = [event.op, key, value === undefined ? undefined : out.value(value)];
    out.result(text.filter((f) => f !== undefined).join("\t"), { op: event.op, key, value });
  });
  const what = [
    ...prefixes.map((p) => `prefix ${JSON.stringify(p)}`),
    ...keys.map((k) => `key ${JSON.stringify(k)}`),
  ];
  out.note(`watching ${what.join(", ")}; interrupt (Ctrl-C) to stop`);
  await Promise.race([interrupted(), ended]);
  await watching.close();
  return Exit.ok;
}
