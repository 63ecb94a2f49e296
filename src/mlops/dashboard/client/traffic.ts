import type { DashboardData } from "../../monitor/dashboard-data";
import { barChart, lineChart } from "./charts";
import { $, el } from "./dom";
import { num } from "./format";

const ms = (x: number | null) => (x === null ? "–" : `${Math.round(x)} ms`);
const whole = (v: number) => Math.round(v).toString();

/** "Traffic and speed": totals, events and lists per hour, time to answer, events by type. */
export function renderTraffic(d: DashboardData): void {
  const box = $("traffic-body");
  box.replaceChildren();
  const t = d.ingestion.totals;
  box.appendChild(
    el("p", {}, [
      el("b", { "data-testid": "traffic-events", text: num(t.events) }),
      " events received, ",
      el("b", { "data-testid": "traffic-impressions", text: num(t.impressions) }),
      " recommendation lists shown, ",
      el("b", { "data-testid": "traffic-errors", text: num(t.errors) }),
      " failed to use their model. Typical time to answer: ",
      el("b", { "data-testid": "traffic-p50", text: ms(t.p50_latency_ms) }),
      " (95% within ",
      el("b", { text: ms(t.p95_latency_ms) }),
      ").",
    ]),
  );
  const s = d.ingestion.series;
  const hours = s.map((x) => x.hour);
  const grid = el("div", { class: "pair" });
  grid.appendChild(
    lineChart({
      title: "Events and lists shown per hour",
      hours,
      format: whole,
      series: [
        { name: "events", color: "#0969da", values: s.map((x) => x.events) },
        { name: "lists shown", color: "#1a7f37", values: s.map((x) => x.impressions) },
      ],
    }),
  );
  grid.appendChild(
    lineChart({
      title: "Time to answer per hour (ms)",
      hours,
      format: whole,
      series: [
        { name: "median", color: "#0969da", values: s.map((x) => x.p50_latency_ms) },
        { name: "95th percentile", color: "#9a6700", values: s.map((x) => x.p95_latency_ms) },
      ],
    }),
  );
  box.appendChild(grid);
  const types = Object.keys(d.ingestion.by_type).sort();
  if (types.length) {
    box.appendChild(
      barChart({
        title: "Events by type in this window",
        format: (x) => num(x),
        rows: types.map((k) => ({ label: k.replace(/_/g, " "), value: d.ingestion.by_type[k] ?? 0 })),
      }),
    );
  }
}
