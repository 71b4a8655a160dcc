/** Small hand-written SVG charts for docs/benchmarks.md: bars, dot ranges and lines. */

const FONT = 'font-family="system-ui, sans-serif" font-size="11"';

export function xmlEscape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

export function si(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1)}k`;
  return String(Math.round(n));
}

/** A log-scale axis from the decade at or below `min` to the one at or above `max`. */
function logAxis(min: number, max: number, width: number) {
  const lo = 10 ** Math.floor(Math.log10(Math.max(1, min)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(lo * 10, max)));
  const x = (v: number) => (Math.log10(Math.max(lo, v) / lo) / Math.log10(hi / lo)) * width;
  const ticks: number[] = [];
  for (let t = lo; t <= hi; t *= 10) ticks.push(t);
  return { x, ticks };
}

export interface Bar {
  label: string;
  value: number;
  color: string;
  /** Text after the value, e.g. a ratio. */
  note?: string;
}

export interface BarGroup {
  title: string;
  bars: Bar[];
}

/** Horizontal bars on a log scale, in titled groups. */
export function barChart(title: string, unit: string, groups: BarGroup[], legend: Bar[]): string {
  const left = 150;
  const width = 560;
  const barH = 11;
  const gap = 3;
  const all = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => v > 0);
  const axis = logAxis(Math.min(...all), Math.max(...all), width);
  const out: string[] = [];
  let y = 50;
  for (const group of groups) {
    out.push(`<text x="4" y="${y + 10}" font-weight="bold">${xmlEscape(group.title)}</text>`);
    y += 16;
    for (const bar of group.bars) {
      const w = Math.max(1, axis.x(bar.value));
      out.push(
        `<text x="${left - 6}" y="${y + barH - 2}" text-anchor="end">${xmlEscape(bar.label)}</text>`,
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${bar.color}"/>`,
        `<text x="${left + w + 4}" y="${y + barH - 2}">${si(bar.value)}${bar.note ? ` ${xmlEscape(bar.note)}` : ""}</text>`,
      );
      y += barH + gap;
    }
    y += 8;
  }
  const height = y + 24;
  const grid = axis.ticks.map((t) => {
    const x = left + axis.x(t);
    return `<line x1="${x}" y1="40" x2="${x}" y2="${y}" stroke="#ddd"/><text x="${x}" y="${y + 14}" text-anchor="middle">${si(t)}</text>`;
  });
  const legendItems = legend.map(
    (l, i) =>
      `<rect x="${left + i * 120}" y="22" width="10" height="10" fill="${l.color}"/><text x="${left + i * 120 + 14}" y="31">${xmlEscape(l.label)}</text>`,
  );
  return svg(
    title,
    left + width + 120,
    height,
    [
      `<text x="4" y="14" font-weight="bold" font-size="13">${xmlEscape(title)}</text>`,
      `<text x="${left + width + 116}" y="${y + 14}" text-anchor="end">${xmlEscape(unit)} (log)</text>`,
      ...grid,
      ...legendItems,
      ...out,
    ].join("\n"),
  );
}

export interface Range {
  label: string;
  values: number[];
}

/** Per row, dots for each value (e.g. p50, p99, p99.9) joined by a line, on a log scale. */
export function rangeChart(
  title: string,
  unit: string,
  names: string[],
  colors: string[],
  rows: Range[],
): string {
  const left = 210;
  const width = 520;
  const rowH = 15;
  const all = rows.flatMap((r) => r.values).filter((v) => v > 0);
  const axis = logAxis(Math.min(...all), Math.max(...all), width);
  const out: string[] = [];
  let y = 46;
  for (const row of rows) {
    const xs = row.values.map((v) => left + axis.x(v));
    out.push(
      `<text x="${left - 6}" y="${y + 4}" text-anchor="end">${xmlEscape(row.label)}</text>`,
      `<line x1="${Math.min(...xs)}" y1="${y}" x2="${Math.max(...xs)}" y2="${y}" stroke="#999"/>`,
      ...xs.map(
        (x, i) => `<circle cx="${x.toFixed(1)}" cy="${y}" r="3.5" fill="${colors[i] ?? "#000"}"/>`,
      ),
    );
    y += rowH;
  }
  const grid = axis.ticks.map((t) => {
    const x = left + axis.x(t);
    return `<line x1="${x}" y1="36" x2="${x}" y2="${y}" stroke="#ddd"/><text x="${x}" y="${y + 14}" text-anchor="middle">${si(t)}</text>`;
  });
  const legend = names.map(
    (n, i) =>
      `<circle cx="${left + i * 90 + 5}" cy="26" r="4" fill="${colors[i]}"/><text x="${left + i * 90 + 13}" y="30">${xmlEscape(n)}</text>`,
  );
  return svg(
    title,
    left + width + 30,
    y + 32,
    [
      `<text x="4" y="14" font-weight="bold" font-size="13">${xmlEscape(title)}</text>`,
      `<text x="${left + width}" y="${y + 28}" text-anchor="end">${xmlEscape(unit)} (log)</text>`,
      ...grid,
      ...legend,
      ...out,
    ].join("\n"),
  );
}

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

/** Stacked line panels sharing an x axis (seconds); each panel on a linear scale from 0. */
export function linePanels(
  title: string,
  xLabel: string,
  panels: { unit: string; series: Series[] }[],
): string {
  const left = 70;
  const width = 640;
  const panelH = 150;
  const xs = panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(...xs);
  const px = (x: number) => left + ((x - xMin) / (xMax - xMin || 1)) * width;
  const out: string[] = [];
  let top = 30;
  for (const panel of panels) {
    const ys = panel.series.flatMap((s) => s.points.map(([, y]) => y));
    const yMax = niceCeil(Math.max(...ys, 1) * 1.1);
    const py = (y: number) => top + panelH - (y / yMax) * panelH;
    for (let i = 0; i <= 4; i++) {
      const v = (yMax * i) / 4;
      out.push(
        `<line x1="${left}" y1="${py(v)}" x2="${left + width}" y2="${py(v)}" stroke="#eee"/>`,
        `<text x="${left - 4}" y="${py(v) + 4}" text-anchor="end">${si(v)}</text>`,
      );
    }
    out.push(
      `<text x="${left}" y="${top - 4}" font-weight="bold">${xmlEscape(panel.unit)}</text>`,
      `<rect x="${left}" y="${top}" width="${width}" height="${panelH}" fill="none" stroke="#999"/>`,
    );
    panel.series.forEach((s, i) => {
      const d = s.points
        .map(([x, y], j) => `${j === 0 ? "M" : "L"}${px(x).toFixed(1)},${py(y).toFixed(1)}`)
        .join(" ");
      out.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`,
        `<text x="${left + width - 4}" y="${top + 14 + i * 13}" text-anchor="end" fill="${s.color}">${xmlEscape(s.name)}</text>`,
      );
    });
    top += panelH + 30;
  }
  const ticks: string[] = [];
  const step = niceCeil((xMax - xMin) / 8);
  for (let x = Math.ceil(xMin / step) * step; x <= xMax; x += step) {
    ticks.push(
      `<text x="${px(x)}" y="${top - 14}" text-anchor="middle">${Math.round(x)}</text>`,
      `<line x1="${px(x)}" y1="30" x2="${px(x)}" y2="${top - 30}" stroke="#f3f3f3"/>`,
    );
  }
  return svg(
    title,
    left + width + 20,
    top + 4,
    [
      `<text x="4" y="14" font-weight="bold" font-size="13">${xmlEscape(title)}</text>`,
      ...ticks,
      `<text x="${left + width}" y="${top}" text-anchor="end">${xmlEscape(xLabel)}</text>`,
      ...out,
    ].join("\n"),
  );
}

function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function svg(title: string, width: number, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${Math.ceil(height)}" viewBox="0 0 ${width} ${Math.ceil(height)}" ${FONT}>
<title>${xmlEscape(title)}</title>
<rect width="100%" height="100%" fill="white"/>
${body}
</svg>
`;
}
