import type { Deadlines, StepResult } from "./expiry.ts";

/**
 * When the memory store's active sweep runs: the timer around
 * `Deadlines.step`. Lazy expiry alone never frees a key nobody reads again,
 * so without a sweep a million keys with a short ttl would hold their memory
 * (and their share of `store.maxMemory`) forever.
 *
 * The sweep runs on the event loop, between requests, in steps of at most
 * `budgetMs`: a request that arrives during a step waits for the rest of it,
 * so the budget bounds the stall a client sees. While a pass has work left,
 * steps follow each other `busyPauseMs` apart, which leaves the loop at
 * least busyPause / (budget + busyPause) of its time for requests. Between
 * passes the sweep waits until the earliest deadline it knows of, but at
 * least `cpuFactor` times the pass's own CPU time (a store with many
 * long-lived expiring keys is not walked over and over: the sweep takes at
 * most 1 / (1 + cpuFactor) of a core at rest) and at most `maxIdleMs`. With
 * no expiring key left it stops, until `wake()` says there is one again.
 */

export interface SweepOptions {
  /** Longest step, in ms on the store's clock. @default 2 */
  budgetMs?: number;
  /** Pause between two steps of one pass, ms. @default 2 */
  busyPauseMs?: number;
  /** Shortest wait between two passes, ms. @default 10 */
  minIdleMs?: number;
  /** Longest wait between two passes, ms. @default 1000 */
  maxIdleMs?: number;
  /** The wait between passes is at least this many times the last pass's CPU time. @default 9 */
  cpuFactor?: number;
  /**
   * Runs `run` in `ms` ms, answering how to cancel it; for tests. By default
   * an unref'd `setTimeout`, so a pending sweep never keeps a process alive.
   */
  schedule?: (run: () => void, ms: number) => Cancel;
}

export type Cancel = () => void;

export const DEFAULT_SWEEP = {
  budgetMs: 2,
  busyPauseMs: 2,
  minIdleMs: 10,
  maxIdleMs: 1000,
  cpuFactor: 9,
} as const;

function unrefTimeout(run: () => void, ms: number): Cancel {
  const timer = setTimeout(run, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

export class Sweeper {
  readonly #deadlines: Deadlines;
  readonly #now: () => number;
  readonly #reclaim: (key: string) => void;
  readonly #options: Required<Omit<SweepOptions, "schedule">>;
  readonly #schedule: (run: () => void, ms: number) => Cancel;
  #cancel: Cancel | undefined;
  /** CPU time of the current pass so far (the sum of its steps). */
  #passTime = 0;
  #closed = false;

  /** Sweeps `deadlines` on the clock `now`, handing expired keys to `reclaim`. */
  constructor(
    deadlines: Deadlines,
    now: () => number,
    reclaim: (key: string) => void,
    options: SweepOptions = {},
  ) {
    this.#deadlines = deadlines;
    this.#now = now;
    this.#reclaim = reclaim;
    const { schedule, ...rest } = options;
    this.#options = { ...DEFAULT_SWEEP, ...rest };
    this.#schedule = schedule ?? unrefTimeout;
  }

  /** True while a step is scheduled. */
  get armed(): boolean {
    return this.#cancel !== undefined;
  }

  /** A key got a deadline: make sure a step is coming. Cheap when one is. */
  wake(): void {
    if (this.#cancel === undefined && !this.#closed) this.#arm(this.#options.busyPauseMs);
  }

  /** Runs one step now, then schedules the next as the policy says; answers the step. */
  run(): StepResult {
    this.#disarm();
    const result = this.#deadlines.step(this.#now, this.#options.budgetMs, this.#reclaim);
    this.#passTime += result.elapsed;
    if (this.#closed || this.#deadlines.size === 0) {
      this.#passTime = 0;
      return result;
    }
    if (!result.passDone) {
      this.#arm(this.#options.busyPauseMs);
      return result;
    }
    const { minIdleMs, maxIdleMs, cpuFactor } = this.#options;
    const untilDue = this.#deadlines.earliest - this.#now();
    const wait = Math.min(maxIdleMs, Math.max(minIdleMs, cpuFactor * this.#passTime, untilDue));
    this.#passTime = 0;
    this.#arm(wait);
    return result;
  }

  /** Stops for good: no step runs after this. */
  close(): void {
    this.#closed = true;
    this.#disarm();
  }

  #arm(ms: number): void {
    this.#cancel = this.#schedule(() => {
      this.#cancel = undefined;
      if (!this.#closed) this.run();
    }, ms);
  }

  #disarm(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }
}
