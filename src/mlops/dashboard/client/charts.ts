import type { FeatureDrift } from "../../drift/report";
import type { Threshold } from "../../drift/status";
import { el, svg } from "./dom";
import { dayLabel, fixed, hourLabel } from "./format";

// Inline SVG charts: no library, every label a text node.

export interface Series {
  name: string;
  color: string;
  values: Array<number | null>;
}

export interface LineChartOptions {
  title: string;
  /** The hours (epoch ms) on the x axis. */
  hours: number[];
  series: Series[];
  /** Colours the fine / watch / act zones. */
  bands?: Threshold;
  format?: (v: number) => string;
}

export interface Bar {
  label: string;
  value: number;
  /** Interval whiskers, when both are numbers. */
  low?: number | null;
  high?: number | null;
  color?: string;
}

export interface BarChartOptions {
  title: string;
  rows: Bar[];
  format: (v: number | null) => string;
  max?: number;
}

const drawn = (v: number | null): v is number => v !== null && Number.isFinite(v);

/** A line chart over hours; bands colour the fine / watch / act zones. */
export function lineChart(opts: LineChartOptions): HTMLElement {
  const W = 560;
  const H = 160;
  const L = 44;
  const R = 10;
  const T = 10;
  const B = 24;
  const xs = opts.hours;
  const n = xs.length;
  const vals = opts.series.flatMap((s) => s.values.filter(drawn));
  let max = Math.max(...vals, 0);
  if (opts.bands) max = Math.max(max, opts.bands.act * 1.4);
  if (!(max > 0)) max = 1;
  const X = (i: number) => L + (n <= 1 ? 0 : (i * (W - L - R)) / (n - 1));
  const Y = (v: number) => T + (H - T - B) * (1 - v / max);
  const label = (v: number, digits: number) => (opts.format ? opts.format(v) : fixed(v, digits));
  const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": opts.title });
  if (opts.bands) {
    const { watch, act } = opts.bands;
    g.appendChild(svg("rect", { x: L, y: Y(watch), width: W - L - R, height: Y(0) - Y(watch), fill: "#dafbe1" }));
    g.appendChild(svg("rect", { x: L, y: Y(act), width: W - L - R, height: Y(watch) - Y(act), fill: "#fff8c5" }));
    g.appendChild(svg("rect", { x: L, y: T, width: W - L - R, height: Math.max(0, Y(act) - T), fill: "#ffebe9" }));
  }
  for (const v of [0, max / 2, max]) {
    g.appendChild(svg("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), stroke: "#d0d7de", "stroke-width": 0.5 }));
    g.appendChild(svg("text", { x: L - 4, y: Y(v) + 3, "text-anchor": "end", class: "tick", text: label(v, 2) }));
  }
  const step = Math.max(1, Math.ceil(n / 8));
  for (let i = 0; i < n; i += step) {
    const hour = xs[i]!;
    g.appendChild(svg("text", { x: X(i), y: H - 6, "text-anchor": "middle", class: "tick", text: n > 48 ? dayLabel(hour) : hourLabel(hour) }));
  }
  for (const s of opts.series) {
    let d = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (!drawn(v)) {
        pen = false;
        return;
      }
      d += `${pen ? " L" : " M"}${X(i).toFixed(1)} ${Y(v).toFixed(1)}`;
      pen = true;
    });
    if (d) g.appendChild(svg("path", { d, fill: "none", stroke: s.color, "stroke-width": 2 }));
    s.values.forEach((v, i) => {
      if (!drawn(v)) return;
      const dot = svg("circle", { cx: X(i), cy: Y(v), r: 2.5, fill: s.color });
      dot.appendChild(svg("title", { text: `${hourLabel(xs[i]!)} ${s.name}: ${label(v, 3)}` }));
      g.appendChild(dot);
    });
  }
  return figure(
    g,
    opts.title,
    opts.series.map((s) => [s.color, s.name]),
  );
}

/** Bars, optionally with interval whiskers (low/high). */
export function barChart(opts: BarChartOptions): HTMLElement {
  const W = 560;
  const rowH = 30;
  const L = 150;
  const R = 70;
  const T = 6;
  const H = T + opts.rows.length * rowH + 18;
  const max = opts.max || Math.max(...opts.rows.map((r) => Math.max(r.value || 0, r.high || 0)), 1e-9);
  const X = (v: number) => L + ((W - L - R) * v) / max;
  const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": opts.title });
  opts.rows.forEach((r, i) => {
    const y = T + i * rowH;
    g.appendChild(svg("text", { x: L - 6, y: y + 17, "text-anchor": "end", class: "label", text: r.label }));
    const bar = svg("rect", { x: L, y: y + 5, width: Math.max(0, X(r.value || 0) - L), height: 16, fill: r.color || "#0969da", rx: 2 });
    const range = r.low !== undefined ? ` (${opts.format(r.low)} – ${opts.format(r.high ?? null)})` : "";
    bar.appendChild(svg("title", { text: `${r.label}: ${opts.format(r.value)}${range}` }));
    g.appendChild(bar);
    if (r.low !== undefined && r.high !== undefined && r.low !== null && r.high !== null) {
      const whisker = { stroke: "#24292f", "stroke-width": 1.5 };
      g.appendChild(svg("line", { x1: X(r.low), x2: X(r.high), y1: y + 13, y2: y + 13, ...whisker }));
      g.appendChild(svg("line", { x1: X(r.low), x2: X(r.low), y1: y + 7, y2: y + 19, ...whisker }));
      g.appendChild(svg("line", { x1: X(r.high), x2: X(r.high), y1: y + 7, y2: y + 19, ...whisker }));
    }
    g.appendChild(svg("text", { x: W - R + 6, y: y + 17, class: "value", text: opts.format(r.value) }));
  });
  g.appendChild(svg("line", { x1: L, x2: L, y1: T, y2: H - 18, stroke: "#8c959f" }));
  return figure(g, opts.title, null);
}

/** Training vs served shares per bin, side by side. */
export function histogramChart(bins: FeatureDrift["bins"], title: string): HTMLElement {
  const W = 560;
  const H = 130;
  const L = 30;
  const R = 6;
  const T = 8;
  const B = 22;
  const n = bins.training.length;
  const max = Math.max(...bins.training, ...bins.served, 1e-9);
  const bw = (W - L - R) / n;
  const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": title });
  const Y = (v: number) => T + (H - T - B) * (1 - v / max);
  for (let i = 0; i < n; i++) {
    const x = L + i * bw;
    const training = bins.training[i] ?? 0;
    const served = bins.served[i] ?? 0;
    g.appendChild(svg("rect", { x: x + 1, y: Y(training), width: bw / 2 - 1, height: Y(0) - Y(training), fill: "#8c959f" }));
    g.appendChild(svg("rect", { x: x + bw / 2, y: Y(served), width: bw / 2 - 1, height: Y(0) - Y(served), fill: "#0969da" }));
    if (n <= 12 || i % Math.ceil(n / 12) === 0) {
      const edge = bins.edges[i];
      g.appendChild(svg("text", { x: x + bw / 2, y: H - 8, "text-anchor": "middle", class: "tick", text: fixed(edge, edge !== undefined && edge % 1 === 0 ? 0 : 1) }));
    }
  }
  return figure(g, title, [
    ["#8c959f", "training"],
    ["#0969da", "served in this window"],
  ]);
}

/** A chart with its caption and colour key. */
function figure(chart: SVGSVGElement, title: string, legend: Array<[color: string, name: string]> | null): HTMLElement {
  const f = el("figure", {}, [chart]);
  const cap = el("figcaption", { text: title });
  for (const [color, name] of legend ?? []) {
    const swatch = el("i");
    swatch.style.background = color; // CSSOM, not a style attribute: allowed by the page's CSP
    cap.appendChild(el("span", { class: "key" }, [swatch, name]));
  }
  f.appendChild(cap);
  return f;
}
