import type { Redis, RedisOptions } from "ioredis";
import { LOST_MESSAGE, LOUD_MESSAGE, quietChannel, singleChannel } from "./redis-channels.ts";
import { pubsub } from "./redis-client.ts";
import type { Lane } from "./redis-lane.ts";

/** How often a loud node tries to become quiet again. */
const TRY_EVERY = 1000;

/** What the quiet switch needs of the store. */
export interface QuietLinks {
  /** True once every per-key command sent before it ran (a PING behind them); false if unknown. */
  barrier(): Promise<boolean>;
  /** A command on the store's client: PUBSUB NUMSUB, PUBLISH. */
  call(command: string, ...args: string[]): Promise<unknown>;
}

type State = "loud" | "trying" | "quiet" | "leaving";

/**
 * Lets a node send its lone writes (KV_ADD, KV_RMV, KV_SET of one key) as
 * the plain commands, without the event scripts' cost in Redis, while no
 * node watches: *quiet*. On a single Redis; a Cluster's nodes stay loud.
 *
 * A node becomes quiet by subscribing to the quiet channel and then finding
 * no subscriber on the event channel; a watching node, before its events
 * flow, subscribes to the event channel and then waits until the quiet
 * channel has no subscriber left, having told them `loud`. Redis runs those
 * commands one at a time, so of a node going quiet and a node starting to
 * watch, at least one sees the other. A quiet node told `loud` writes with
 * the scripts from then on, waits until its plain writes already sent have
 * run (a PING behind them), and only then unsubscribes: once the watcher
 * sees the count at zero, no plain write is left to run.
 *
 * A quiet node that loses its subscription (its connection dropped, or was
 * killed) may have sent plain writes a new watch never saw, so once it
 * reaches Redis again it publishes `lost` on the event channel, and every
 * watch gets a `reset`, before it tries to be quiet again.
 */
export class Quiet {
  readonly #links: QuietLinks;
  readonly #channel: string;
  readonly #events: string;
  readonly #sub: Redis;
  #state: State = "loud";
  #owesLost = false;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #stopPings: () => void;

  constructor(options: RedisOptions, links: QuietLinks) {
    const db = options.db ?? 0;
    this.#links = links;
    this.#channel = quietChannel(db);
    this.#events = singleChannel(db);
    const { redis: sub, stopPings } = pubsub(options, { connectionName: "kvfleet-quiet" });
    this.#sub = sub;
    this.#stopPings = stopPings;
    sub.on("ready", () => this.#soon(0));
    sub.on("close", () => this.#dropped());
    sub.on("message", (_channel: string, message: string) => {
      if (message === LOUD_MESSAGE) void this.#leave();
    });
  }

  /** Whether lone writes may be the plain commands now. */
  get on(): boolean {
    return this.#state === "quiet";
  }

  stop(): void {
    this.#stopped = true;
    this.#state = "loud";
    clearTimeout(this.#timer);
    this.#stopPings();
    this.#sub.disconnect();
  }

  #soon(ms: number): void {
    clearTimeout(this.#timer);
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#try(), ms).unref();
  }

  async #try(): Promise<void> {
    if (this.#state !== "loud" || this.#stopped || this.#sub.status !== "ready") return;
    this.#state = "trying";
    try {
      if (this.#owesLost) {
        await this.#links.barrier();
        await this.#links.call("PUBLISH", this.#events, LOST_MESSAGE);
        this.#owesLost = false;
      }
      await this.#sub.subscribe(this.#channel);
      if (this.#state !== "trying") return;
      const reply = (await this.#links.call("PUBSUB", "NUMSUB", this.#events)) as unknown[];
      if (this.#state !== "trying") return;
      if (reply[1] === 0) {
        this.#state = "quiet";
        return;
      }
    } catch {
      // Loud until the next try.
    }
    if (this.#state === "trying") await this.#loud();
  }

  /** Told `loud`: scripts from now on, then the count drops once the plain writes ran. */
  async #leave(): Promise<void> {
    if (this.#state === "trying") return this.#loud();
    if (this.#state !== "quiet") return;
    this.#state = "leaving";
    if (!(await this.#links.barrier())) this.#owesLost = true;
    if (this.#state === "leaving") await this.#loud();
  }

  async #loud(): Promise<void> {
    this.#state = "loud";
    await this.#sub.unsubscribe(this.#channel).catch(() => {});
    this.#soon(TRY_EVERY);
  }

  #dropped(): void {
    if (this.#state === "quiet" || this.#state === "leaving") this.#owesLost = true;
    this.#state = "loud";
  }
}

/** The quiet switch of a single Redis, its barrier a PING behind the lane's commands. */
export function quietSwitch(client: Redis, lane: Lane): Quiet {
  return new Quiet(client.options, {
    barrier: () =>
      lane.connection.send(["PING"]).then(
        () => true,
        () => false,
      ),
    call: (command, ...args) => client.call(command, ...args),
  });
}
