/**
 * What the modes of `bun run bench` write to bench/results/ and
 * `bun run bench:report` reads back: one interface per kind of run, and
 * save/latest typed by kind, so a writer can only write what the report reads.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Latency } from "./latency.ts";
import type { IntervalSample, LoadResult } from "./load.ts";
import type { Operation, Protocol } from "./requests.ts";

export const RESULTS_DIR = join(new URL("..", import.meta.url).pathname, "bench/results");

export type StoreType = "memory" | "redis";

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  bun: string;
  redis: string;
  kernel: string;
  loadavgBefore: number[];
  loadavgAfter?: number[];
}

export interface Shape {
  connections: number;
  /** Requests in flight per connection. */
  window: number;
}

export const MATRIX_TARGETS = [
  "transport",
  "memory",
  "redis",
  "redis-cluster",
  "redis-benchmark",
] as const;
export type MatrixTarget = (typeof MATRIX_TARGETS)[number];

/** What redis-benchmark measured for one command. */
export interface RedisBenchmark {
  command: string;
  rps: number;
  p50ms: number;
  p99ms: number;
  /** CPU of redis-server per request, when measured. */
  redisUsPerOp?: number;
}

export interface MatrixRow extends Shape {
  target: MatrixTarget;
  nodes: number;
  op: Operation;
  opsPerSecond: number;
  errors: number;
  latencyUs: Latency;
  /** For redis-benchmark rows: the commands whose figures it combines. */
  detail?: RedisBenchmark[];
  cpu?: CpuUse;
}

/**
 * CPU while measuring, in cores (CPU seconds per second) and in µs per
 * request: of the node processes (summed), of redis-server, and of the
 * load generator.
 */
export interface CpuUse {
  nodeCores: number;
  redisCores?: number;
  generatorCores: number;
  nodeUsPerOp: number;
  redisUsPerOp?: number;
  generatorUsPerOp: number;
  /**
   * Every other process on the machine (/proc/stat user and system time
   * less the above; tick-rounded, so about ±0.05 core): the noise.
   */
  othersCores?: number;
}

/** Settings every load of a mode shares. */
export interface LoadSettings {
  /** Measured seconds per scenario. */
  seconds: number;
  warmup: number;
  keys: number;
  /** Bytes of each value's JSON text. */
  valueSize: number;
}

export interface MatrixSettings extends LoadSettings {
  targets: MatrixTarget[];
  ops: Operation[];
  shapes: Shape[];
  /** Node counts; each shape runs on as many as it has connections for. */
  nodes: number[];
}

export interface MatrixRun {
  started: string;
  finished: string;
  machine: MachineInfo;
  settings: LoadSettings & { mixed: readonly (readonly [string, number])[] };
  rows: MatrixRow[];
}

export interface MemorySettings {
  keys: number;
  valueSize: number;
}

export interface MemoryRun {
  date: string;
  machine: MachineInfo;
  settings: MemorySettings & { keyBytes: number; rawBytes: number };
  memory: {
    keys: number;
    rssBefore: number;
    rssAfter: number;
    bytesPerKey: number;
    loadSeconds: number;
  };
  redis: {
    keys: number;
    usedMemoryBefore: number;
    usedMemoryAfter: number;
    bytesPerKey: number;
    redisRssBefore: number;
    redisRssAfter: number;
    nodeRss: number;
    loadSeconds: number;
  };
}

export interface SoakSettings extends LoadSettings, Shape {
  store: StoreType;
  /** Seconds per throughput window. */
  windowSeconds: number;
}

export interface SoakRun {
  started: string;
  finished: string;
  machine: MachineInfo;
  settings: SoakSettings;
  total: LoadResult;
  windows: (IntervalSample & { rssBytes: number; redisUsedMemory?: number })[];
  /** The node's VmRSS every second; t < 0 is before the warm-up. */
  rss: { t: number; rssBytes: number }[];
}

export type ProfileSettings = Omit<LoadSettings, "warmup"> & {
  /** The protocol version of the load (1 when absent, as in runs before version 2). */
  protocol?: Protocol;
};

export interface SelfTime {
  name: string;
  where: string;
  percent: number;
}

export interface ProfileRun {
  date: string;
  machine: MachineInfo;
  settings: ProfileSettings;
  /** Per store: ops/s per operation while profiled, and the functions with the most self time. */
  profiles: Partial<Record<StoreType, { loads: Record<string, number>; top: SelfTime[] }>>;
  /** Where the .cpuprofile files are. */
  dir: string;
}

export interface SlowReaderSettings {
  stores: StoreType[];
  /** Bytes of the read value's JSON text, one scenario each. */
  valueSizes: number[];
  /** KV_GETs the slow reader pipelines. */
  requests: number;
  /** How long to wait for the node to close the slow reader. */
  timeoutSeconds: number;
  /** Interval of the RSS samples. */
  pollMs: number;
  /** The other client goes on this long after the slow reader's end, still recorded. */
  tailSeconds: number;
  /** Arguments of every node besides the store's. */
  nodeArgs: string[];
}

/**
 * How the node's end of the slow reader was noticed: its log line for a client
 * error (which names the close code), its connection gauge dropping, the TCP
 * connection ending, the node exiting; or none of them before the timeout.
 */
export type EndSignal = "log" | "metrics" | "tcp" | "node exited" | "timeout";

export interface SlowReaderScenario {
  store: StoreType;
  valueSize: number;
  requests: number;
  /** VmRSS with both clients connected, before the slow reader sends. */
  idleRssBytes: number;
  /** Highest VmRSS sampled from the first request until the slow reader is gone. */
  peakRssBytes: number;
  /** VmHWM at the end: the highest RSS of the node's life, between samples too. */
  hwmBytes: number;
  /** VmRSS one second after the slow reader is gone. */
  rssAfterBytes: number;
  end: {
    closed: boolean;
    signal: EndSignal;
    /** Milliseconds from writing the requests to noticing the close (or the timeout). */
    afterMs: number;
    /** The code of the close frame the slow reader read once it resumed, if any. */
    closeCode: number | null;
    /** The close code the node logged, if it logged one. */
    loggedCode: number | null;
    /** Answers the slow reader read once it resumed. */
    answersRead: number;
  };
  other: {
    requests: number;
    errors: number;
    latencyUs: Latency;
    /** When the slowest request was sent, in ms since the slow reader's requests were written. */
    worstSentMs: number;
    errorSamples: string[];
  };
  /** [ms since the requests were written, VmRSS bytes], every pollMs. */
  rss: [number, number][];
}

export interface SlowReaderRun {
  started: string;
  finished: string;
  machine: MachineInfo;
  settings: SlowReaderSettings;
  scenarios: SlowReaderScenario[];
}

/** One load of the protocol comparison: an op at a shape on a store, in a protocol version. */
export interface ProtocolScenario extends Shape {
  op: Operation;
}

export interface ProtocolSettings extends LoadSettings {
  stores: StoreType[];
  scenarios: ProtocolScenario[];
  /** Rounds, each loading every scenario in version 1 and 2 back to back. */
  rounds: number;
  /** Before each pair, wait (at most `seconds`) for other processes to use less than `cores`. */
  quiet: { cores: number; seconds: number };
  /**
   * Seconds between swaps when a scenario's two loads run interleaved, each
   * sending `seconds` in all; 0 (and runs saved before it existed) for back to back.
   */
  slice?: number;
}

export interface ProtocolSample {
  opsPerSecond: number;
  keysPerSecond: number;
  errors: number;
  latencyUs: Latency;
  cpu: CpuUse;
  /** Whether this load ran before its other-version twin in the round. */
  first: boolean;
}

export interface ProtocolRow extends ProtocolScenario {
  store: StoreType;
  keysPerRequest: number;
  /** One sample per round. */
  v1: ProtocolSample[];
  v2: ProtocolSample[];
  /** v2 ops/s over v1 ops/s of each round. */
  ratios: number[];
  /** Cores the machine used just before each pair (after waiting for quiet). */
  busyBefore: number[];
}

export interface ProtocolRun {
  started: string;
  finished: string;
  machine: MachineInfo;
  settings: ProtocolSettings;
  rows: ProtocolRow[];
}

export interface ClientSettings extends LoadSettings {
  stores: StoreType[];
  ops: ("set" | "get")[];
  /** Calls (client) and requests (raw generator) in flight on the one connection. */
  inFlight: number;
  /** Rounds, each loading every op with the raw generator and the client back to back. */
  rounds: number;
  quiet: { cores: number; seconds: number };
}

/** An op on a store: the raw generator's and the client's samples, one per round. */
export interface ClientRow {
  store: StoreType;
  op: "set" | "get";
  raw: ProtocolSample[];
  client: ProtocolSample[];
  /** Client ops/s over raw ops/s of each round. */
  ratios: number[];
  busyBefore: number[];
}

export interface ClientRun {
  started: string;
  finished: string;
  machine: MachineInfo;
  settings: ClientSettings;
  rows: ClientRow[];
}

export const FANOUT_STORES = ["redis", "redis-cluster", "memory"] as const;
export type FanoutStore = (typeof FANOUT_STORES)[number];

export interface FanoutSettings {
  store: FanoutStore;
  /** Connections watching the writer's prefix, spread over the nodes. */
  watchers: number;
  seconds: number;
  /** The writer's KV_SETs in flight. */
  window: number;
  valueSize: number;
}

export interface FanoutResult {
  store: string;
  nodes: number;
  watchers: number;
  writes: number;
  writesPerSecond: number;
  eventsPerSecond: number;
  /** Events expected (writes x watchers) that never arrived. */
  missing: number;
  answerToEventUs: Latency;
  /** From sending the write to each of its events' arrival. */
  writeToEventUs: Latency;
  load: number[];
}

export interface FanoutRun extends FanoutResult {
  started: string;
  settings: FanoutSettings;
}

export interface Results {
  matrix: MatrixRun;
  memory: MemoryRun;
  soak: SoakRun;
  profile: ProfileRun;
  "slow-reader": SlowReaderRun;
  v2: ProtocolRun;
  client: ClientRun;
  fanout: FanoutRun;
}
export type Kind = keyof Results;

/** A file name's time: sortable, and without the colons some file systems refuse. */
export function stamp(): string {
  return new Date().toISOString().replace(/\..*$/, "Z").replaceAll(":", "-");
}

// The matrix came first and its files carry no kind in their name.
const fileName = (kind: Kind, time: string) =>
  kind === "matrix" ? `${time}.json` : `${time}-${kind}.json`;
const isOfKind = (kind: Kind, file: string) =>
  kind === "matrix" ? /^\d{4}-[\d-]+T[\d-]+Z\.json$/.test(file) : file.endsWith(`-${kind}.json`);

/** Writes a run to bench/results/<time>[-<kind>].json and answers the path. */
export function save<K extends Kind>(kind: K, data: Results[K]): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, fileName(kind, stamp()));
  writeFileSync(path, `${JSON.stringify({ kind, ...data }, null, 1)}\n`);
  return path;
}

/** The newest run of a kind in bench/results/, if any. */
export function latest<K extends Kind>(kind: K): { path: string; data: Results[K] } | undefined {
  let files: string[];
  try {
    files = readdirSync(RESULTS_DIR);
  } catch {
    return undefined;
  }
  const file = files
    .filter((f) => isOfKind(kind, f))
    .sort()
    .at(-1);
  if (!file) return undefined;
  const path = join(RESULTS_DIR, file);
  return { path, data: JSON.parse(readFileSync(path, "utf8")) as Results[K] };
}

const scenario = (r: MatrixRow) => `${r.op} ${r.connections}x${r.window}`;

/** The transport ceiling of a row: same op and shape, same node count. */
export function transportOf(rows: MatrixRow[], row: MatrixRow): MatrixRow | undefined {
  return rows.find(
    (r) => r.target === "transport" && r.nodes === row.nodes && scenario(r) === scenario(row),
  );
}

/** The redis-benchmark ceiling of a row: same op and shape. */
export function redisOf(rows: MatrixRow[], row: MatrixRow): MatrixRow | undefined {
  return rows.find((r) => r.target === "redis-benchmark" && scenario(r) === scenario(row));
}

/** The slow reader's target since the fix of the backlog accounting (issue 8). */
export const SLOW_READER_TARGET = { growthBytes: 64 * 2 ** 20, worstLatencyMs: 100 };

export function meetsTarget(s: SlowReaderScenario): boolean {
  return (
    s.peakRssBytes - s.idleRssBytes <= SLOW_READER_TARGET.growthBytes &&
    s.other.latencyUs.max < SLOW_READER_TARGET.worstLatencyMs * 1000 &&
    s.other.errors === 0
  );
}

/** How a scenario's slow reader ended, in a few words. */
export function endText(s: SlowReaderScenario): string {
  const e = s.end;
  if (!e.closed) return `not closed in ${(e.afterMs / 1000).toFixed(0)} s`;
  const logged = e.loggedCode === null ? `by ${e.signal}` : `log ${e.loggedCode}`;
  return `closed: ${logged}, ${e.closeCode === null ? "no close frame" : `frame ${e.closeCode}`}`;
}
