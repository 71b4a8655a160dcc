import calculateSlot from "cluster-key-slot";
import type { Cluster, Redis } from "ioredis";
import { Status } from "../protocol/status.ts";

type Failed = typeof Status.Unknown;

/**
 * One kind of per-key operation, as Redis runs it: `many` for a group of
 * keys in one command (MGET or a `*_MANY_LUA` script, one reply per key),
 * `one` for a single key (the plain command, cheaper than a script), and
 * `result` from either reply to the store's result.
 *
 * A `timed` operation also takes a number per key (a ttl or an expiry in
 * ms): a group mixes the keys of many requests, each with its own ttl, so
 * the ttl travels beside the key like its value. Only timed operations get
 * that column; the others' groups carry none (`ttls` is empty, `ttl` 0).
 */
export interface Operation<R> {
  many(keys: string[], values: string[], ttls: number[]): Promise<unknown[]>;
  one(key: string, value: string, ttl: number): Promise<unknown>;
  result(reply: unknown): R | Failed;
  readonly timed?: boolean;
}

/** The keys of one store call, answered together once each has settled. */
interface Request {
  readonly out: unknown[];
  /** Keys still unsettled; -1 once answered (by all keys or by the deadline). */
  left: number;
  readonly resolve: (out: unknown[]) => void;
}

/** Keys of one operation bound for one Redis node, sent as one command. */
interface Group {
  readonly op: Operation<unknown>;
  readonly keys: string[];
  readonly values: string[];
  /** One per key for a timed operation; the shared empty NO_TTLS otherwise. */
  readonly ttls: number[];
  readonly requests: Request[];
  readonly indexes: number[];
}

/** The ttl column of every group of an operation that is not timed: never written. */
const NO_TTLS: number[] = [];

/** The keys of every request that arrives within one turn of the event loop. */
interface Turn {
  readonly groups: Group[];
  readonly requests: Request[];
  readonly started: number;
}

type Settle = (request: Request, index: number, result: unknown) => void;

/** Keys in one command: big enough to amortise a command, small enough not to delay the next. */
export const MAX_GROUP = 256;

/** Redirections and slot errors a Cluster answers before running a command: nothing ran. */
const NOT_RUN =
  /^(MOVED|ASK|TRYAGAIN|CROSSSLOT)\b|^Too many Cluster redirections|non local key|hash to the same slot/;

/**
 * Coalesces the keys of store calls into one Redis command per operation,
 * Redis node and turn of the event loop, instead of one command per key.
 *
 * A call made while nothing is in flight goes to Redis at once (a lone
 * client waits for nobody); calls made while commands are in flight gather
 * until the end of the turn. Keys of different operations land in separate
 * groups, which may reorder them, except that a key already in this turn's
 * groups under another operation starts a new epoch, sent after the groups
 * before it: operations on one key run in the order they were asked for.
 *
 * Every key settles on its own: a group that fails answers 100 for its keys
 * only; in a Cluster, a group refused with a redirection (nothing ran) is
 * retried key by key, which ioredis routes. Every call is answered within
 * `timeout` ms of its turn, 100 for what has not answered by then.
 */
export class Coalescer {
  readonly #client: Redis | Cluster;
  readonly #timeout: number;
  readonly #whenReady: () => Promise<boolean>;
  #turn: Turn | null = null;
  /** The open group of each operation (and node) in the current epoch. */
  #open = new Map<Operation<unknown>, Map<string, Group>>();
  /** The operation each key of the current epoch belongs to. */
  #touched = new Map<string, Operation<unknown>>();
  #scheduled = false;
  /** Group commands sent and not yet answered. */
  #inFlight = 0;
  /** The last retry of each key being retried alone after a redirection. */
  readonly #retrying = new Map<string, Promise<void>>();
  readonly #flushSoon = () => {
    this.#scheduled = false;
    this.#flush();
  };

  /** Whether commands may be sent now: the client is ready and its nodes have the scripts. */
  readonly #isReady: () => boolean;

  constructor(
    client: Redis | Cluster,
    timeout: number,
    whenReady: () => Promise<boolean>,
    isReady: () => boolean = () => client.status === "ready",
  ) {
    this.#client = client;
    this.#timeout = timeout;
    this.#whenReady = whenReady;
    this.#isReady = isReady;
  }

  /**
   * The result of `op` for each key, in order; `values[i]` goes with `keys[i]`
   * where the op takes one, and for a timed op `ttl` (one for every key, or
   * one per key).
   */
  submit<R>(
    op: Operation<R>,
    keys: readonly string[],
    values?: readonly string[],
    ttl: number | readonly number[] = 0,
  ): Promise<(R | Failed)[]> {
    const out: unknown[] = new Array(keys.length).fill(Status.Unknown);
    if (keys.length === 0) return Promise.resolve(out as (R | Failed)[]);
    return new Promise((resolve) => {
      const request: Request = { out, left: keys.length, resolve: resolve as Request["resolve"] };
      this.#turn ??= { groups: [], requests: [], started: performance.now() };
      const turn = this.#turn;
      turn.requests.push(request);
      const o = op as Operation<unknown>;
      for (let i = 0; i < keys.length; i++) {
        const t = typeof ttl === "number" ? ttl : (ttl[i] as number);
        this.#add(turn, o, keys[i] as string, values?.[i] ?? "", t, request, i);
      }
      if (this.#scheduled) return;
      if (this.#inFlight === 0 && this.#isReady()) {
        this.#flush();
      } else {
        this.#scheduled = true;
        setImmediate(this.#flushSoon);
      }
    });
  }

  /**
   * Sends what this turn gathered so far, so that a whole-store command
   * (KV_COUNT, KV_CLEAR) issued next runs after the calls made before it.
   */
  flushNow(): void {
    if (this.#turn !== null) this.#flush();
  }

  #add(
    turn: Turn,
    op: Operation<unknown>,
    key: string,
    value: string,
    ttl: number,
    request: Request,
    index: number,
  ): void {
    const owner = this.#touched.get(key);
    if (owner !== op) {
      // The key is already in a group of another operation: later groups must follow those.
      if (owner !== undefined) this.#newEpoch();
      this.#touched.set(key, op);
    }
    const target = this.#target(key);
    let byTarget = this.#open.get(op);
    if (byTarget === undefined) {
      byTarget = new Map();
      this.#open.set(op, byTarget);
    }
    let group = byTarget.get(target);
    if (group === undefined || group.keys.length >= MAX_GROUP) {
      const ttls = op.timed ? [] : NO_TTLS;
      group = { op, keys: [], values: [], ttls, requests: [], indexes: [] };
      byTarget.set(target, group);
      turn.groups.push(group);
    }
    group.keys.push(key);
    group.values.push(value);
    if (op.timed) group.ttls.push(ttl);
    group.requests.push(request);
    group.indexes.push(index);
  }

  #newEpoch(): void {
    this.#open = new Map();
    this.#touched = new Map();
  }

  /** The Cluster master holding the key's slot; a single Redis is one target. */
  #target(key: string): string {
    if (!this.#client.isCluster) return "";
    return (this.#client as Cluster).slots[calculateSlot(key)]?.[0] ?? "";
  }

  #flush(): void {
    const turn = this.#turn;
    if (turn === null) return;
    this.#turn = null;
    this.#newEpoch();
    if (this.#isReady()) {
      this.#send(turn, this.#timeout);
      return;
    }
    void this.#whenReady().then((ready) => {
      const left = this.#timeout - (performance.now() - turn.started);
      if (ready && left > 0) this.#send(turn, left);
      else for (const request of turn.requests) answer(request);
    });
  }

  #send(turn: Turn, left: number): void {
    let unanswered = turn.requests.length;
    const timer = setTimeout(() => {
      for (const request of turn.requests) answer(request);
    }, left);
    const settle: Settle = (request, index, result) => {
      if (request.left <= 0) return;
      request.out[index] = result;
      if (--request.left > 0) return;
      request.left = -1;
      request.resolve(request.out);
      if (--unanswered === 0) clearTimeout(timer);
    };
    for (const group of turn.groups) this.#run(group, settle);
  }

  #run(group: Group, settle: Settle): void {
    const { op, requests, indexes } = group;
    let { keys, values, ttls } = group;
    // A key being retried after a redirection runs after its retry, whatever the group.
    let at = indexes.map((_, i) => i);
    if (this.#retrying.size > 0 && keys.some((key) => this.#retrying.has(key))) {
      at = at.filter((i) => {
        if (!this.#retrying.has(keys[i] as string)) return true;
        this.#retry(group, i, settle);
        return false;
      });
      if (at.length === 0) return;
      keys = at.map((i) => keys[i] as string);
      values = at.map((i) => values[i] as string);
      if (op.timed) ttls = at.map((i) => ttls[i] as number);
    }
    const done = (j: number, result: unknown) =>
      settle(requests[at[j] as number] as Request, indexes[at[j] as number] as number, result);
    const cluster = this.#client.isCluster;
    const reply =
      keys.length === 1
        ? op.one(keys[0] as string, values[0] as string, ttls[0] ?? 0).then((r) => [r])
        : op.many(keys, values, ttls);
    this.#inFlight++;
    reply.then(
      (replies) => {
        this.#inFlight--;
        for (let j = 0; j < keys.length; j++) {
          const r = replies[j];
          if (!(r instanceof Error)) done(j, op.result(r));
          // A key this master no longer holds (a resharding): ioredis routes it alone.
          else if (cluster && NOT_RUN.test(r.message)) this.#retry(group, at[j] as number, settle);
          else done(j, Status.Unknown);
        }
      },
      (error: Error) => {
        this.#inFlight--;
        const redirected = keys.length > 1 && cluster && NOT_RUN.test(error.message);
        for (let j = 0; j < keys.length; j++) {
          if (redirected) this.#retry(group, at[j] as number, settle);
          else done(j, Status.Unknown);
        }
      },
    );
  }

  /**
   * Runs key `i` of a group alone, after any retry of the same key still
   * under way: ioredis follows a redirection for a lone key, and chaining
   * keeps the operations on one key in the order they were asked for.
   */
  #retry(group: Group, i: number, settle: Settle): void {
    const key = group.keys[i] as string;
    const value = group.values[i] as string;
    const ttl = group.ttls[i] ?? 0;
    const request = group.requests[i] as Request;
    const index = group.indexes[i] as number;
    const { op } = group;
    const previous = this.#retrying.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => op.one(key, value, ttl))
      .then(
        (r) => settle(request, index, op.result(r)),
        () => settle(request, index, Status.Unknown),
      );
    this.#retrying.set(key, next);
    void next.then(() => {
      if (this.#retrying.get(key) === next) this.#retrying.delete(key);
    });
  }
}

/** Answers a request with what it has; keys still unsettled stay 100. */
function answer(request: Request): void {
  if (request.left <= 0) return;
  request.left = -1;
  request.resolve(request.out.slice());
}
