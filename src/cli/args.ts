/** Bad usage: a message for the person typing, and exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** One flag of the command line; `value` names its argument (`--ttl MS`), absent for a switch. */
export interface FlagSpec {
  readonly value?: string;
  /** May be given several times (`--prefix a --prefix b`); otherwise twice is an error. */
  readonly repeat?: boolean;
  readonly doc: string;
}

/**
 * Every flag, whichever command takes it: the parser must know whether a flag takes a value
 * before it has found the command word (`kvfleet --url ws://h/ get a`).
 */
export const FLAGS = {
  url: {
    value: "URL",
    doc: "Server to connect to; default $KVFLEET_URL, else ws://127.0.0.1:1987/.",
  },
  json: { doc: "One JSON line per result or event, numbers exact, instead of text." },
  ttl: { value: "MS", doc: "Expire the key MS milliseconds after the write." },
  prefix: { value: "P", repeat: true, doc: "Keys starting with P (watch: repeat for several)." },
  key: { value: "K", repeat: true, doc: "The key K; repeat for several." },
  limit: { value: "N", doc: "Print at most N keys." },
  yes: { doc: "Confirm a command that destroys data." },
  help: { doc: "Print this help (kvfleet serve --help: the server's settings)." },
  version: { doc: "Print the version." },
} satisfies Record<string, FlagSpec>;

export type FlagName = keyof typeof FLAGS;

/** The command line taken apart: words in order, and each flag's values (`[]` for a switch). */
export interface Parsed {
  readonly words: string[];
  readonly flags: Partial<Record<FlagName, string[]>>;
}

const isFlagName = (name: string): name is FlagName => Object.hasOwn(FLAGS, name);

/**
 * Splits arguments into words and flags: `--name=value`, `--name value`, `--switch`, `-h` for
 * `--help`, and `--` ending the flags. A token is a flag only when a letter follows its dash,
 * so that `-`, `-1` and `-0.5` stay words: a value of -1 needs no quoting.
 */
export function parseArgs(argv: readonly string[]): Parsed {
  const words: string[] = [];
  const flags: Partial<Record<FlagName, string[]>> = {};
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === "--") {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (token === "-h") {
      add(flags, "help", undefined);
      continue;
    }
    const match = /^--([a-z][a-z-]*)(?:=(.*))?$/s.exec(token);
    if (match === null) {
      if (/^-[a-zA-Z]/.test(token) || token.startsWith("--")) {
        throw new UsageError(`unknown flag ${token}`);
      }
      words.push(token);
      continue;
    }
    const name = match[1] as string;
    if (!isFlagName(name)) throw new UsageError(`unknown flag --${name}`);
    const spec: FlagSpec = FLAGS[name];
    let value = match[2];
    if (spec.value === undefined) {
      if (value !== undefined) throw new UsageError(`--${name} takes no value`);
    } else if (value === undefined) {
      value = argv[++i];
      if (value === undefined)
        throw new UsageError(`--${name} needs a value: --${name} ${spec.value}`);
    }
    add(flags, name, value);
  }
  return { words, flags };
}

function add(flags: Partial<Record<FlagName, string[]>>, name: FlagName, value?: string): void {
  const values = flags[name] ?? [];
  const spec: FlagSpec = FLAGS[name];
  if (values.length > 0 && spec.repeat !== true) throw new UsageError(`--${name} given twice`);
  flags[name] = [...values, value ?? ""];
}

/** Whether a switch (or any flag) was given. */
export const given = (parsed: Parsed, name: FlagName): boolean => parsed.flags[name] !== undefined;

/** The value of a flag given at most once. */
export const flagValue = (parsed: Parsed, name: FlagName): string | undefined =>
  parsed.flags[name]?.[0];

/** A flag's value as a whole number from `min` to `max`, or a UsageError naming the flag. */
export function integerFlag(
  parsed: Parsed,
  name: FlagName,
  min: number,
  max: number,
): number | undefined {
  const text = flagValue(parsed, name);
  if (text === undefined) return undefined;
  return wholeNumber(text, `--${name}`, min, max);
}

/** `text` as a whole number from `min` to `max` written in digits, else a UsageError naming `what`. */
export function wholeNumber(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < min || n > max) {
    throw new UsageError(`${what} must be a whole number from ${min} to ${max}, got ${text}`);
  }
  return n;
}
