import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { COMMAND_NAMES, type CommandName } from "../protocol/commands.ts";
import { Status } from "../protocol/status.ts";

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

// Bun has no event-loop delay monitor, so prom-client's lag gauges would report nonsense.
const UNSUPPORTED_DEFAULTS = /^nodejs_eventloop_lag/;

// Totals live outside prom-client (see Metrics); each scrape copies them in, which is
// why collect() resets a counter before setting it.
/**
 * Prometheus metrics of one node, served on `GET /metrics`. The per-message
 * path only bumps numbers in typed arrays (and one histogram observation);
 * prom-client reads them when scraped, so its label lookups stay off that path.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #messages = new Float64Array(KINDS.length);
  readonly #responses = new Float64Array(101);
  readonly #rejected = new Float64Array(REJECT_REASONS.length);
  readonly #latency: readonly ReturnType<Histogram["labels"]>[];
  #storeErrors = 0;
  #connections = 0;
  #storeUp = false;

  constructor() {
    const registers = [this.registry];
    const self = this;
    new Gauge({
      name: "kvfleet_connections",
      help: "Open WebSocket connections.",
      registers,
      collect() {
        this.set(self.#connections);
      },
    });
    new Counter({
      name: "kvfleet_messages_total",
      help: "Messages received, by command (KV_ERR: not a command).",
      labelNames: ["command"],
      registers,
      collect() {
        this.reset();
        for (const [i, kind] of KINDS.entries())
          this.inc({ command: kind }, self.#messages[i] ?? 0);
      },
    });
    new Counter({
      name: "kvfleet_responses_total",
      help: "Responses sent, by protocol status.",
      labelNames: ["status"],
      registers,
      collect() {
        this.reset();
        for (const st of STATUSES) this.inc({ status: st }, self.#responses[st] ?? 0);
      },
    });
    new Counter({
      name: "kvfleet_store_errors_total",
      help: "Store operations that failed (answered with status 100).",
      registers,
      collect() {
        this.reset();
        this.inc(self.#storeErrors);
      },
    });
    new Gauge({
      name: "kvfleet_store_up",
      help: "1 while the store connection is up, 0 while it is down.",
      registers,
      collect() {
        this.set(self.#storeUp ? 1 : 0);
      },
    });
    new Counter({
      name: "kvfleet_connections_rejected_total",
      help: "WebSocket upgrades refused, by reason.",
      labelNames: ["reason"],
      registers,
      collect() {
        this.reset();
        for (const [i, reason] of REJECT_REASONS.entries()) {
          this.inc({ reason }, self.#rejected[i] ?? 0);
        }
      },
    });
    const latency = new Histogram({
      name: "kvfleet_command_duration_seconds",
      help: "Time from receiving a message to its reply being ready, by command.",
      labelNames: ["command"],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1, 5],
      registers,
    });
    this.#latency = KINDS.map((kind) => latency.labels(kind));
    collectDefaultMetrics({ register: this.registry });
    for (const metric of this.registry.getMetricsAsArray()) {
      if (UNSUPPORTED_DEFAULTS.test(metric.name)) this.registry.removeSingleMetric(metric.name);
    }
  }

  message(kind: MessageKind, seconds: number): void {
    const i = KIND_INDEX.get(kind) as number;
    this.#messages[i] = (this.#messages[i] ?? 0) + 1;
    this.#latency[i]?.observe(seconds);
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

  storeUp(up: boolean): void {
    this.#storeUp = up;
  }

  /** The Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
