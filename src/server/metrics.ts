import { collectDefaultMetrics, Registry } from "prom-client";
import { COMMAND_NAMES, type CommandName } from "../protocol/commands.ts";
import { Status } from "../protocol/status.ts";
import type { Store } from "../store/store.ts";
import {
  type Family,
  histogramSamples,
  type MetricType,
  renderFamilies,
  type Sample,
} from "./exposition.ts";
import type { WatchEvents } from "./watches.ts";

/** Messages that never became a command (binary frames, bad JSON, unknown names). */
export const NOT_A_COMMAND = "KV_ERR";
export type MessageKind = CommandName | typeof NOT_A_COMMAND;

export type RejectReason = "unauthorized" | "origin" | "connection_limit" | "draining";

const KINDS: readonly MessageKind[] = [...COMMAND_NAMES, NOT_A_COMMAND];
const KIND_INDEX = new Map(KINDS.map((kind, i) => [kind, i]));
const STATUSES = Object.values(Status);
const REJECT_REASONS: readonly RejectReason[] = [
  "unauthorized",
  "origin",
  "connection_limit",
  "draining",
];
/** Upper bounds in seconds: a memory-store command takes microseconds, a Redis one a round trip. */
const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1, 5];

// Bun has no event-loop delay monitor, so prom-client's lag gauges would report nonsense.
const UNSUPPORTED_DEFAULTS = /^nodejs_eventloop_lag/;

/**
 * Prometheus metrics of one node, served on `GET /metrics`. The per-message
 * path only adds to typed arrays; the samples are built when scraped. That
 * keeps prom-client's label lookups (a few hundred ns per call, measured in
 * bench/metrics.ts) off the path every message takes. The node's own metrics
 * are rendered by `exposition.ts`; prom-client's registry, used only through
 * its documented API, adds the process metrics.
 */
export class Metrics {
  readonly #process = new Registry();
  readonly #families: Family[] = [];
  readonly #messages = new Float64Array(KINDS.length);
  readonly #responses = new Float64Array(101);
  readonly #rejected = new Float64Array(REJECT_REASONS.length);
  /** Per kind: one count per bucket (not cumulative) plus the overflow. */
  readonly #buckets = KINDS.map(() => new Float64Array(BUCKETS.length + 1));
  readonly #sums = new Float64Array(KINDS.length);
  #storeErrors = 0;
  #connections = 0;
  #storeUp = false;
  #watches = 0;
  #events = 0;
  #resets = 0;

  constructor() {
    this.#register("kvfleet_connections", "gauge", "Open WebSocket connections.", () => [
      { value: this.#connections },
    ]);
    this.#register(
      "kvfleet_messages_total",
      "counter",
      "Messages received, by command (KV_ERR: not a command).",
      () => KINDS.map((command, i) => ({ value: this.#messages[i] ?? 0, labels: { command } })),
    );
    this.#register(
      "kvfleet_responses_total",
      "counter",
      "Results answered, by protocol status: one per v1 response, one per key or error of a v2 answer.",
      () => STATUSES.map((status) => ({ value: this.#responses[status] ?? 0, labels: { status } })),
    );
    this.#register(
      "kvfleet_store_errors_total",
      "counter",
      "Responses with status 100: the store failed or did not answer in time.",
      () => [{ value: this.#storeErrors }],
    );
    this.#register(
      "kvfleet_store_up",
      "gauge",
      "1 while the store connection is up, 0 while it is down.",
      () => [{ value: this.#storeUp ? 1 : 0 }],
    );
    this.#register(
      "kvfleet_connections_rejected_total",
      "counter",
      "WebSocket upgrades refused, by reason.",
      () =>
        REJECT_REASONS.map((reason, i) => ({ value: this.#rejected[i] ?? 0, labels: { reason } })),
    );
    this.#register(
      "kvfleet_command_duration_seconds",
      "histogram",
      "Time from receiving a message to its reply being ready, by command.",
      () =>
        KINDS.flatMap((command, i) =>
          histogramSamples(BUCKETS, this.#buckets[i] as Float64Array, this.#sums[i] ?? 0, {
            command,
          }),
        ),
    );
    this.#register("kvfleet_watches", "gauge", "Watches open (KV_WATCH, protocol v2).", () => [
      { value: this.#watches },
    ]);
    this.#register(
      "kvfleet_events_total",
      "counter",
      "Change events sent to watches, resets included.",
      () => [{ value: this.#events }],
    );
    this.#register(
      "kvfleet_watch_resets_total",
      "counter",
      "Times the store's change feed was interrupted, so every open watch got a reset.",
      () => [{ value: this.#resets }],
    );
    collectDefaultMetrics({ register: this.#process });
    for (const metric of this.#process.getMetricsAsArray()) {
      if (UNSUPPORTED_DEFAULTS.test(metric.name)) this.#process.removeSingleMetric(metric.name);
    }
  }

  message(kind: MessageKind, seconds: number): void {
    const i = KIND_INDEX.get(kind) as number;
    this.#messages[i] = (this.#messages[i] ?? 0) + 1;
    this.#sums[i] = (this.#sums[i] ?? 0) + seconds;
    let b = 0;
    while (b < BUCKETS.length && seconds > (BUCKETS[b] as number)) b++;
    const buckets = this.#buckets[i] as Float64Array;
    buckets[b] = (buckets[b] ?? 0) + 1;
  }

  response(status: number): void {
    this.#responses[status] = (this.#responses[status] ?? 0) + 1;
    if (status === Status.Unknown) this.#storeErrors++;
  }

  connected(delta: 1 | -1): void {
    this.#connections += delta;
  }

  rejected(reason: RejectReason): void {
    const i = REJECT_REASONS.indexOf(reason);
    this.#rejected[i] = (this.#rejected[i] ?? 0) + 1;
  }

  /** What the node's watches report (see `watches.ts`). */
  readonly watchEvents: WatchEvents = {
    watching: (delta) => {
      this.#watches += delta;
    },
    sent: (events) => {
      this.#events += events;
    },
    reset: () => {
      this.#resets++;
    },
  };

  storeUp(up: boolean): void {
    this.#storeUp = up;
  }

  /**
   * Gauges of what a store holds against its limit (the memory store), read
   * from the store when scraped; a store that reports no usage gets none.
   */
  storeUsage(store: Pick<Store, "usage">): void {
    if (store.usage === undefined) return;
    const usage = store.usage.bind(store);
    const gauge = (name: string, help: string, value: () => number) =>
      this.#register(name, "gauge", help, () => [{ value: value() }]);
    gauge(
      "kvfleet_store_bytes",
      "Estimated bytes the memory store holds: keys, values and a fixed overhead per entry.",
      () => usage().bytes,
    );
    gauge(
      "kvfleet_store_limit_bytes",
      "The memory store's limit on kvfleet_store_bytes (store.maxMemory); 0 = unlimited.",
      () => usage().limit,
    );
    gauge(
      "kvfleet_store_full",
      "1 while the latest write that would have grown the memory store was refused (status 100) and nothing since made room or grew it, else 0.",
      () => (usage().full ? 1 : 0),
    );
  }

  /** The Prometheus text exposition: the node's metrics, then the process's. */
  async render(): Promise<string> {
    return renderFamilies(this.#families) + (await this.#process.metrics());
  }

  get contentType(): string {
    return this.#process.contentType;
  }

  #register(name: string, type: MetricType, help: string, samples: () => Sample[]): void {
    this.#families.push({ name, type, help, samples });
  }
}
