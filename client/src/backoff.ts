/** How a lost connection is opened again. */
export interface Backoff {
  /** Attempts before giving up (default 10). */
  attempts: number;
  /** Delay before the first attempt, ms (default 100); it doubles with each attempt. */
  minDelay: number;
  /** Longest delay between attempts, ms (default 5000). */
  maxDelay: number;
}

export const DEFAULT_BACKOFF: Backoff = { attempts: 10, minDelay: 100, maxDelay: 5000 };

/**
 * The delays before each attempt: doubling from `minDelay` up to `maxDelay`,
 * each one drawn between half and all of that, so that the clients of a
 * drained node do not all come back in the same instant.
 */
export function* delays(backoff: Backoff, random: () => number = Math.random): Generator<number> {
  for (let attempt = 0; attempt < backoff.attempts; attempt++) {
    const cap = Math.min(backoff.maxDelay, backoff.minDelay * 2 ** attempt);
    yield Math.round(cap / 2 + (random() * cap) / 2);
  }
}
