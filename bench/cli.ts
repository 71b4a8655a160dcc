/** What the bench entry points share around parseArgs (node:util), which leaves flags as text. */
import type { Shape } from "./results.ts";

/** A flag that parses but makes no sense. */
export class UsageError extends Error {}

/** A flag's value as a number >= 0. */
export function numberFlag(name: string, text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < 0)
    throw new UsageError(`--${name} must be a number >= 0, not ${JSON.stringify(text)}`);
  return n;
}

/** A flag's value, which must be one of `allowed`. */
export function choiceFlag<T extends string>(name: string, text: string, allowed: readonly T[]): T {
  if (!allowed.includes(text as T))
    throw new UsageError(`--${name}: ${text} is not one of ${allowed.join(", ")}`);
  return text as T;
}

/** The items of a comma-separated flag. */
export const items = (text: string): string[] => text.split(",").filter(Boolean);

/** Connections x window, e.g. 64x32. */
export function shapeFlag(name: string, text: string): Shape {
  const match = /^(\d+)x(\d+)$/.exec(text);
  if (!match) throw new UsageError(`--${name}: ${text} is not CxW (connections x window)`);
  return { connections: Number(match[1]), window: Number(match[2]) };
}

const isUsageError = (error: unknown) =>
  error instanceof UsageError ||
  String((error as { code?: unknown } | null)?.code).startsWith("ERR_PARSE_ARGS");

/**
 * Runs an entry point and exits with the code it answers. A bad flag, from
 * parseArgs or UsageError, prints its message and the usage and exits 2,
 * like the server on a bad setting; the exit also ends what a run leaves
 * open (sockets closing, timers).
 */
export async function runMain(usage: string, main: () => Promise<number>): Promise<never> {
  try {
    process.exit(await main());
  } catch (error) {
    if (!isUsageError(error)) throw error;
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}
