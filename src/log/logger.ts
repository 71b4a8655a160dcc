import type { LogLevel } from "../config/config.ts";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Fields of one event; callers pass facts, never values, tokens or passwords. */
export type Fields = Record<string, string | number | boolean | null | undefined | object>;

/**
 * One JSON line per event on stdout, for log collectors: `time`, `level`,
 * `event`, then the event's own fields. Events below the level cost one
 * comparison and no allocation of the line.
 */
export class Logger {
  readonly #min: number;
  readonly #write: (line: string) => void;

  constructor(level: LogLevel, write: (line: string) => void = (line) => console.log(line)) {
    this.#min = RANK[level];
    this.#write = write;
  }

  debug(event: string, fields?: Fields): void {
    if (this.#min <= 0) this.#emit("debug", event, fields);
  }

  info(event: string, fields?: Fields): void {
    if (this.#min <= 1) this.#emit("info", event, fields);
  }

  warn(event: string, fields?: Fields): void {
    if (this.#min <= 2) this.#emit("warn", event, fields);
  }

  error(event: string, fields?: Fields): void {
    this.#emit("error", event, fields);
  }

  /** An event written whatever the level: the start line that operators and tools wait for. */
  always(level: LogLevel, event: string, fields?: Fields): void {
    this.#emit(level, event, fields);
  }

  #emit(level: LogLevel, event: string, fields: Fields | undefined): void {
    this.#write(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }));
  }
}
