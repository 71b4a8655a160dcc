import type { Expiring, StepResult, Timed } from "./expiry.ts";

/**
 * When the memory store's active sweep runs: the timer around
 * `Expiring.step`. Lazy expiry alone never frees a key nobody reads again,
 * so without a sweep a million keys with a short ttl would hold their memory
 * (and their share of `store.maxMemory`) forever.
 *
 * The sweep runs on the event loop, between requests, in steps of at most
 * `budgetMs`: a request that arrives during a step waits for the rest of it,
 * so the budget bounds the stall a client sees. While a pass has work left,
 * steps follow each other `busyPauseMs` apart, which leaves the loop at
 * least busyPause / (budget + busyPause) of its time for requests. Between
 * passes the sweep sleeps until the earliest deadline (`Expiring.earliest`,
 * a lower bound kept on every write, so nothing expires unnoticed), but at
 * least `cpuFactor` times the pass's own CPU time: a store whose expiring
 * keys are all far off is not walked at all, and one whose deadlines keep
 * coming is walked with at most 1 / (1 + cpuFactor) of a core, unless a
 * pass finds at least {@link WORTH_ANOTHER_PASS} of what it walked expired,
 * when the next starts at once. A write that
 * sets an earlier deadline than the one the sweep sleeps until wakes it
 * sooner. With no expiring key left it stops, until `wake()`.
 */

export interface SweepOptions {
  /** Longest step, in ms on the store's clock. @default 2 */
  budgetMs?: number;
  /** Pause between two steps of one pass, ms. @default 2 */
  busyPauseMs?: number;
  /** Shortest wait between two passes, ms. @default 10 */
  minIdleMs?: number;
  /** Longest wait between two passes, ms: a timer is never set further off. @default 3600000 */
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

/**
 * The share of expired keys among those a pass looked at above which the
 * next pass starts at once: walking live keys is the waste the CPU pacing
 * limits, reclaiming expired ones is not (Redis's active expiry likewise
 * repeats while more than a tenth of its sample had expired).
 */
export const WORTH_ANOTHER_PASS = 0.1;

export const DEFAULT_SWEEP = {
  budgetMs: 2,
  busyPauseMs: 2,
  minIdleMs: 10,
  maxIdleMs: 3_600_000,
  cpuFactor: 9,
} as const;

function unrefTimeout(run: () => void, ms: number): Cancel {
  const timer = setTimeout(run, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

export class Sweeper {
  readonly #expiring: Expiring;
  readonly #now: () => number;
  readonly #reclaim: (timed: Timed) => void;
  readonly #options: Required<Omit<SweepOptions, "schedule">>;
  readonly #schedule: (run: () => void, ms: number) => Cancel;
  #cancel: Cancel | undefined;
  /** When the armed timer fires, on the store's clock. */
  #dueAt = Number.POSITIVE_INFINITY;
  /** The current pass so far: CPU time (the sum of its steps), entries looked at, reclaimed. */
  #passTime = 0;
  #passExamined = 0;
  #passReclaimed = 0;
  #closed = false;

  /** Sweeps `expiring` on the clock `now`, handing expired keys to `reclaim`. */
  constructor(
    expiring: Expiring,
    now: () => number,
    reclaim: (timed: Timed) => void,
    options: SweepOptions = {},
  ) {
    this.#expiring = expiring;
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

  /**
   * Keys got deadlines: make sure a step comes by the earliest. One
   * comparison when the armed timer is early enough, as it usually is.
   */
  wake(): void {
    if (this.#closed) return;
    const earliest = this.#expiring.earliest;
    // No deadline at all (an add with a ttl that added nothing): nothing to sweep for.
    if (earliest === Number.POSITIVE_INFINITY) return;
    if (this.#cancel !== undefined && earliest >= this.#dueAt) return;
    // Only ever sooner: writes that keep coming must not keep pushing the sweep back.
    const now = this.#now();
    const { busyPauseMs, maxIdleMs } = this.#options;
    const wait = Math.min(maxIdleMs, Math.max(busyPauseMs, earliest - now));
    if (this.#cancel !== undefined && now + wait >= this.#dueAt) return;
    this.#disarm();
    this.#arm(wait);
  }

  /** Runs one step now, then schedules the next as the policy says; answers the step. */
  run(): StepResult {
    this.#disarm();
    const result = this.#expiring.step(this.#now, this.#options.budgetMs, this.#reclaim);
    this.#passTime += result.elapsed;
    this.#passExamined += result.examined;
    this.#passReclaimed += result.reclaimed;
    if (this.#closed || this.#expiring.size === 0) {
      this.#endPass();
      return result;
    }
    if (!result.passDone) {
      this.#arm(this.#options.busyPauseMs);
      return result;
    }
    const { minIdleMs, maxIdleMs, cpuFactor, busyPauseMs } = this.#options;
    let wait: number;
    if (this.#passReclaimed >= this.#passExamined * WORTH_ANOTHER_PASS) {
      // Reclaiming is the point: a pass that found plenty expired is followed at once.
      wait = busyPauseMs;
    } else {
      const untilDue = this.#expiring.earliest - this.#now();
      wait = Math.min(maxIdleMs, Math.max(minIdleMs, cpuFactor * this.#passTime, untilDue));
    }
    this.#endPass();
    this.#arm(wait);
    return result;
  }

  /** Stops for good: no step runs after this. */
  close(): void {
    this.#closed = true;
    this.#disarm();
  }

  #endPass(): void {
    this.#passTime = 0;
    this.#passExamined = 0;
    this.#passReclaimed = 0;
  }

  #arm(ms: number): void {
    this.#dueAt = this.#now() + ms;
    this.#cancel = this.#schedule(() => {
      this.#cancel = undefined;
      this.#dueAt = Number.POSITIVE_INFINITY;
      if (!this.#closed) this.run();
    }, ms);
  }

  #disarm(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    this.#dueAt = Number.POSITIVE_INFINITY;
  }
}
