/** Timing helpers of the micro-benchmarks and of ab.ts's rounds. */

/** Nanoseconds per call of `fn(arg)`, over `rounds` calls. */
export function nsPerCall<A>(fn: (arg: A) => unknown, arg: A, rounds: number): number {
  const start = Bun.nanoseconds();
  for (let i = 0; i < rounds; i++) fn(arg);
  return (Bun.nanoseconds() - start) / rounds;
}

/** The middle value (the upper one of an even count), or 0 for none. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;
