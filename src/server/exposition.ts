/**
 * The Prometheus text exposition format (version 0.0.4), for the node's own
 * metrics: their counts live in typed arrays on the message path and become
 * text only when scraped.
 */

export type MetricType = "counter" | "gauge" | "histogram";
export type Labels = Readonly<Record<string, string | number>>;

/** One line of a family: `suffix` extends the family name (`_bucket`, `_sum`, `_count`). */
export interface Sample {
  readonly value: number;
  readonly labels?: Labels;
  readonly suffix?: string;
}

export interface Family {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly samples: () => readonly Sample[];
}

const escapeHelp = (text: string) => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabel = (text: string) =>
  text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

function formatValue(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

function formatLabels(labels: Labels | undefined): string {
  if (labels === undefined) return "";
  const pairs = Object.entries(labels).map(
    ([name, value]) =>
      `${name}="${escapeLabel(typeof value === "number" ? formatValue(value) : value)}"`,
  );
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}

/** The `# HELP`, `# TYPE` and sample lines of each family, newline-terminated. */
export function renderFamilies(families: readonly Family[]): string {
  let out = "";
  for (const { name, type, help, samples } of families) {
    out += `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
    for (const s of samples()) {
      out += `${name}${s.suffix ?? ""}${formatLabels(s.labels)} ${formatValue(s.value)}\n`;
    }
  }
  return out;
}

/**
 * The samples of one histogram series from per-bucket counts (not cumulative,
 * the last one the overflow beyond every bound).
 */
export function histogramSamples(
  bounds: readonly number[],
  counts: ArrayLike<number>,
  sum: number,
  labels: Labels,
): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  for (let b = 0; b <= bounds.length; b++) {
    cumulative += counts[b] ?? 0;
    const le = b < bounds.length ? (bounds[b] as number) : Number.POSITIVE_INFINITY;
    samples.push({ suffix: "_bucket", value: cumulative, labels: { le, ...labels } });
  }
  samples.push({ suffix: "_sum", value: sum, labels });
  samples.push({ suffix: "_count", value: cumulative, labels });
  return samples;
}
