import { describe, expect, test } from "bun:test";
import { Status } from "../../src/protocol/status.ts";
import { CHECK_EVERY } from "../../src/store/expiry.ts";
import {
  ENTRY_OVERHEAD,
  EXPIRY_OVERHEAD,
  MemoryStore,
  type MemoryStoreOptions,
} from "../../src/store/memory.ts";
import { DEFAULT_SWEEP } from "../../src/store/sweep.ts";

/** What the store counts for one entry. */
const cost = (key: string, value: string, expiring = false) =>
  key.length + value.length + ENTRY_OVERHEAD + (expiring ? EXPIRY_OVERHEAD : 0);

/**
 * A clock that only moves when told, plus `perRead` ms every time it is
 * read, so a sweep step sees time pass while it works, deterministically.
 */
function fakeClock(perRead = 0) {
  const clock = { t: 1_000, perRead, reads: 0 };
  const now = () => {
    clock.reads++;
    clock.t += clock.perRead;
    return clock.t;
  };
  return { clock, now };
}

/** A scheduler that only records: tests fire its timers by hand. */
function fakeTimers() {
  const timers: { run: () => void; ms: number; live: boolean }[] = [];
  return {
    schedule(run: () => void, ms: number) {
      const timer = { run, ms, live: true };
      timers.push(timer);
      return () => {
        timer.live = false;
      };
    },
    /** The timers still pending (at most one, if the sweeper is right). */
    pending: () => timers.filter((t) => t.live),
    /** Fires the pending timer, as the event loop would. */
    fire() {
      const [timer, ...others] = timers.filter((t) => t.live);
      if (timer === undefined || others.length > 0) throw new Error("expected one pending timer");
      timer.live = false;
      timer.run();
    },
    all: timers,
  };
}

function storeWith(options: { perRead?: number; sweep?: MemoryStoreOptions["sweep"] } = {}) {
  const { clock, now } = fakeClock(options.perRead);
  const timers = fakeTimers();
  const store = new MemoryStore({
    now,
    sweep: { schedule: timers.schedule, ...options.sweep },
  });
  return { store, clock, timers };
}

const range = (n: number, label: string) => Array.from({ length: n }, (_, i) => `${label}${i}`);

describe("MemoryStore lazy expiry (fake clock, no sweep)", () => {
  test("an expired key is missing for every command, and the first to touch it gives its bytes back", () => {
    const { store, clock } = storeWith();
    store.set(["keep"], ["1"]);
    const base = cost("keep", "1");
    const commands: [string, (k: string) => unknown, unknown][] = [
      ["get", (k) => store.get([k]), [Status.KeyNotExist]],
      ["contains", (k) => store.contains([k]), [Status.KeyNotExist]],
      ["ttl", (k) => store.ttl([k]), [Status.KeyNotExist]],
      ["append", (k) => store.append([k], ["[1]"]), [Status.KeyNotExist]],
      ["remove", (k) => store.remove([k]), [Status.KeyNotExist]],
      ["expire", (k) => store.expire([k], [1000]), [Status.KeyNotExist]],
      ["persist", (k) => store.persist([k]), [Status.KeyNotExist]],
      ["set", (k) => store.set([k], ["2"]), [Status.KeySet]],
      ["add", (k) => store.add([k], ["2"]), [Status.KeySet]],
    ];
    for (const [name, run, answer] of commands) {
      const k = `k-${name}`;
      store.set([k], ["[0]"], 100);
      expect(store.usage().bytes).toBe(base + cost(k, "[0]", true));
      clock.t += 99;
      expect(store.get([k])).toEqual(["[0]"]);
      clock.t += 1;
      // Still counted until something reclaims it.
      expect(store.count()).toBe(2);
      expect(run(k)).toEqual(answer);
      const rewritten = name === "set" || name === "add";
      expect(store.usage().bytes).toBe(base + (rewritten ? cost(k, "2") : 0));
      expect(store.ttl([k])).toEqual(rewritten ? [{ ms: null }] : [Status.KeyNotExist]);
      store.remove([k]);
    }
    expect(store.count()).toBe(1);
  });

  test("ttl counts down on the store's clock and rounds up", () => {
    const { store, clock } = storeWith();
    store.set(["a"], ["1"], 1000);
    clock.t += 0.5;
    expect(store.ttl(["a"])).toEqual([{ ms: 1000 }]);
    clock.t += 998.5;
    expect(store.ttl(["a"])).toEqual([{ ms: 1 }]);
    clock.t += 0.75;
    expect(store.ttl(["a"])).toEqual([{ ms: 1 }]);
    clock.t += 0.25;
    expect(store.ttl(["a"])).toEqual([Status.KeyNotExist]);
  });

  test("an expiry costs EXPIRY_OVERHEAD while it exists: set with ttl, expire, persist, set without", () => {
    const { store } = storeWith();
    store.set(["a"], ["1"], 5000);
    expect(store.usage().bytes).toBe(cost("a", "1", true));
    store.set(["a"], ["22"], 6000);
    expect(store.usage().bytes).toBe(cost("a", "22", true));
    store.append(["a"], ["[1]"]);
    expect(store.usage().bytes).toBe(cost("a", "22", true));
    store.persist(["a", "a"]);
    expect(store.usage().bytes).toBe(cost("a", "22"));
    store.expire(["a", "a"], [10, 20]);
    expect(store.usage().bytes).toBe(cost("a", "22", true));
    store.set(["a"], ["3"]);
    expect(store.usage().bytes).toBe(cost("a", "3"));
    store.add(["b"], ["4"], 10);
    expect(store.usage().bytes).toBe(cost("a", "3") + cost("b", "4", true));
    store.remove(["b"]);
    store.set(["c", "c"], ["5", "6"], 10);
    expect(store.usage().bytes).toBe(cost("a", "3") + cost("c", "6", true));
    expect(store.clear()).toBe(2);
    expect(store.usage().bytes).toBe(0);
  });

  test("at the memory limit a ttl that needs room is refused, expire and persist are not", () => {
    const { clock, now } = fakeClock();
    const limit = cost("a", "1") + cost("b", "1");
    const store = new MemoryStore({
      now,
      maxMemory: limit,
      sweep: { schedule: fakeTimers().schedule },
    });
    expect(store.set(["a", "b"], ["1", "1"])).toEqual([Status.KeySet, Status.KeySet]);
    expect(store.set(["a"], ["1"], 100)).toEqual([Status.Unknown]);
    expect(store.ttl(["a"])).toEqual([{ ms: null }]);
    // Redis does not refuse EXPIRE at OOM: neither does this store, which may then pass its limit.
    expect(store.expire(["a"], [100])).toEqual([Status.Ok]);
    expect(store.usage()).toEqual({ bytes: limit + EXPIRY_OVERHEAD, limit, full: false });
    expect(store.persist(["a"])).toEqual([Status.Ok]);
    expect(store.usage().bytes).toBe(limit);
    // An expired key's room is there for the write that replaces it.
    store.expire(["b"], [10]);
    clock.t += 10;
    expect(store.set(["c"], ["1"])).toEqual([Status.Unknown]);
    expect(store.usage().bytes).toBe(limit + EXPIRY_OVERHEAD);
    expect(store.set(["b"], ["2"])).toEqual([Status.KeySet]);
    expect(store.usage().bytes).toBe(limit);
  });
});

describe("MemoryStore active sweep (fake clock and timers)", () => {
  test("reclaims every expired key within a bounded number of steps and gives their bytes back", () => {
    const perRead = 0.05;
    const { store, clock, timers } = storeWith({ perRead });
    const plain = range(5000, "plain");
    const later = range(2000, "later");
    const soon = range(20_000, "soon");
    store.set(
      plain,
      plain.map(() => "1"),
    );
    store.set(
      later,
      later.map(() => "[1]"),
      60_000,
    );
    for (let i = 0; i < soon.length; i += 1000) {
      const batch = soon.slice(i, i + 1000);
      store.set(
        batch,
        batch.map(() => '"x"'),
        100,
      );
    }
    const kept =
      plain.reduce((n, k) => n + cost(k, "1"), 0) +
      later.reduce((n, k) => n + cost(k, "[1]", true), 0);
    expect(store.usage().bytes).toBe(kept + soon.reduce((n, k) => n + cost(k, '"x"', true), 0));
    clock.t += 200;
    // The clock moves perRead per reading and a step reads it every CHECK_EVERY
    // entries, so one step of the 2 ms budget walks CHECK_EVERY * budget / perRead entries.
    const perStep = CHECK_EVERY * Math.round(DEFAULT_SWEEP.budgetMs / perRead);
    const bound = Math.ceil((soon.length + later.length) / perStep) + 1;
    let steps = 0;
    while (store.count() > plain.length + later.length && steps <= bound) {
      timers.fire();
      steps++;
    }
    expect(steps).toBeLessThanOrEqual(bound);
    expect(store.count()).toBe(plain.length + later.length);
    expect(store.usage().bytes).toBe(kept);
    expect(store.get(soon.slice(0, 3))).toEqual([
      Status.KeyNotExist,
      Status.KeyNotExist,
      Status.KeyNotExist,
    ]);
    const page = store.keys({ prefix: "soon", limit: 1000 });
    expect(page).toEqual({ keys: [], cursor: null });
    expect(store.ttl([later[0] as string])).toEqual([{ ms: expect.any(Number) }]);
  });

  test("each step stops at its first clock reading past the budget", () => {
    const perRead = 0.3;
    const { store, clock } = storeWith({ perRead, sweep: { budgetMs: 2 } });
    const keys = range(10_000, "k");
    store.set(
      keys,
      keys.map(() => "1"),
      10,
    );
    clock.t += 20;
    let reclaimed = 0;
    for (;;) {
      const step = store.sweep();
      reclaimed += step.reclaimed;
      // At most one reading's worth of time past the budget.
      expect(step.elapsed).toBeLessThan(2 + perRead + 1e-9);
      // Readings 0.3 ms apart pass 2 ms on the 7th: 7 * CHECK_EVERY entries, no more.
      expect(step.examined).toBeLessThanOrEqual(7 * CHECK_EVERY);
      if (step.passDone) break;
      expect(step.examined).toBe(7 * CHECK_EVERY);
    }
    expect(reclaimed).toBe(keys.length);
    expect(store.count()).toBe(0);
  });

  test("sleeps until the earliest deadline, wakes sooner for a sooner one, never later; stopped by close()", async () => {
    const { store, clock, timers } = storeWith();
    store.set(["plain"], ["1"]);
    expect(timers.pending()).toHaveLength(0);
    store.set(["a"], ["1"], 500);
    // Nothing to do before the first deadline: one timer, for then.
    expect(timers.pending().map((t) => t.ms)).toEqual([500]);
    store.set(["b"], ["1"], 700);
    expect(timers.all).toHaveLength(1);
    store.set(["c"], ["1"], 100);
    expect(timers.pending().map((t) => t.ms)).toEqual([100]);
    clock.t += 100;
    timers.fire();
    // c is reclaimed: a third of the pass, worth another one at once...
    expect(store.count()).toBe(3);
    expect(timers.pending().map((t) => t.ms)).toEqual([DEFAULT_SWEEP.busyPauseMs]);
    timers.fire();
    // ...which finds nothing expired and waits for a's deadline.
    expect(timers.pending().map((t) => t.ms)).toEqual([400]);
    // Writes with later deadlines, however many, leave the timer alone.
    for (let i = 0; i < 10; i++) {
      clock.t += 1;
      store.set([`late${i}`], ["1"], 10_000);
    }
    expect(timers.pending().map((t) => t.ms)).toEqual([400]);
    clock.t += 390;
    timers.fire();
    // a alone expired: 1 of 12 walked, not worth an immediate pass; b is next.
    expect(store.count()).toBe(12);
    expect(timers.pending().map((t) => t.ms)).toEqual([200]);
    store.remove(Array.from({ length: 10 }, (_, i) => `late${i}`));
    clock.t += 200;
    timers.fire();
    // The last expiring key is gone: no timer until a key has a deadline again.
    expect(store.count()).toBe(1);
    expect(timers.pending()).toHaveLength(0);
    store.expire(["plain"], [3_600_000]);
    expect(timers.pending().map((t) => t.ms)).toEqual([3_600_000]);
    await store.close();
    expect(timers.pending()).toHaveLength(0);
    // A timer that fires anyway after close (a race with the event loop) does nothing.
    const before = clock.reads;
    for (const timer of [...timers.all]) timer.run();
    expect(clock.reads).toBe(before);
    store.set(["d"], ["1"], 10);
    expect(timers.pending()).toHaveLength(0);
  });

  test("a pass goes on busyPauseMs after each step; a pass that found little waits cpuFactor x its time", () => {
    const { store, clock, timers } = storeWith({ perRead: 0.05 });
    const keys = range(20_000, "k");
    store.set(
      keys,
      keys.map(() => "1"),
      10,
    );
    store.set(["far"], ["1"], 1_000_000);
    clock.t += 20;
    for (;;) {
      const step = store.sweep();
      // Mid-pass, and after a pass that reclaimed nearly all it walked: the next step soon.
      expect(timers.pending().map((t) => t.ms)).toEqual([DEFAULT_SWEEP.busyPauseMs]);
      if (step.passDone) break;
      // A write with a ttl meanwhile does not push the next step back.
      const armed = timers.all.length;
      clock.t += 1;
      store.set(["writer"], ["1"], 2_000_000);
      expect(timers.all).toHaveLength(armed);
    }
    // A pass over far and writer only: it sleeps until far's deadline, a long way off.
    expect(store.sweep().passDone).toBe(true);
    const [next] = timers.pending().map((t) => t.ms);
    expect(next).toBeGreaterThan(999_000);
    expect(next).toBeLessThanOrEqual(1_000_000);
    store.remove(["far", "writer"]);
    // Many live keys due soon after the pass: the wait is cpuFactor x the
    // pass's time rather than the moment of the next deadline.
    store.set(
      keys,
      keys.map(() => "1"),
      200,
    );
    let passTime = 0;
    for (;;) {
      const step = store.sweep();
      passTime += step.elapsed;
      if (step.passDone) break;
    }
    const [wait] = timers.pending().map((t) => t.ms);
    expect(store.count()).toBe(keys.length);
    expect(DEFAULT_SWEEP.cpuFactor * passTime).toBeGreaterThan(200);
    expect(wait).toBeCloseTo(DEFAULT_SWEEP.cpuFactor * passTime, 6);
  });

  test("the real timer does not keep a process alive", async () => {
    const script = `
      import { MemoryStore } from ${JSON.stringify(`${import.meta.dir}/../../src/store/memory.ts`)};
      const store = new MemoryStore();
      store.set(["k"], ["1"], 3_600_000);
      console.log(store.count());
    `;
    const child = Bun.spawn(["bun", "-e", script], { stdout: "pipe", stderr: "inherit" });
    const exited = await Promise.race([child.exited, Bun.sleep(10_000).then(() => "hung")]);
    if (exited === "hung") child.kill();
    expect(exited).toBe(0);
    expect((await new Response(child.stdout).text()).trim()).toBe("1");
  });
});

describe("Sweeper wake-ups within a timer's range", () => {
  test("an add with a ttl that added nothing arms no timer", () => {
    const { store, timers } = storeWith();
    store.set(["a"], ["1"]);
    store.add(["a"], ["2"], 50);
    expect(timers.pending()).toHaveLength(0);
  });

  test("a ttl beyond maxIdleMs waits at most maxIdleMs, never a delay a timer can't hold", () => {
    const { store, timers } = storeWith({ sweep: { maxIdleMs: 60_000 } });
    store.set(["far"], ["1"], 2_592_000_000);
    const [timer, ...others] = timers.pending();
    expect(others).toHaveLength(0);
    expect(timer?.ms).toBeLessThanOrEqual(60_000);
  });
});
