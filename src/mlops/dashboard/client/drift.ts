import type { Status } from "../../drift/status";
import type { DashboardData, ModelDrift } from "../../monitor/dashboard-data";
import { histogramChart, lineChart } from "./charts";
import { $, el, pill } from "./dom";
import { fixed, num, pct, tid } from "./format";

const ADVICE: Record<Status, string> = {
  fine: "Looks like the training data.",
  watch: "Starting to differ from the training data. Keep an eye on it.",
  act: "Very different from the training data: retrain the model, or check that the shop's tracking still works.",
  no_data: "Not enough traffic in this window to judge.",
};

/** "Are the models still seeing what they were trained on?": per model, each input, the prediction and the catalogue. */
export function renderDrift(d: DashboardData): void {
  const box = $("drift-body");
  box.replaceChildren();
  const first = d.drift[0];
  if (!first) {
    box.appendChild(el("p", { class: "muted", text: "No model has served recommendations in this window." }));
    return;
  }
  const hours = first.prediction.series.map((s) => s.hour);
  for (const m of d.drift) box.appendChild(modelCard(d, m, hours));
}

function modelCard(d: DashboardData, m: ModelDrift, hours: number[]): HTMLElement {
  const info = d.models.find((x) => x.model === m.model);
  const mid = `drift-${tid(m.model)}`;
  const card = el("article", { class: "model", "data-testid": mid });
  card.appendChild(el("h3", {}, [el("span", { text: `Model ${m.model} ` }), pill(m.status, `${mid}-status`)]));
  card.appendChild(el("p", { class: "muted", text: (info && info.age_days !== null ? `Trained ${info.age_days} day(s) ago. ` : "") + `${num(m.impressions)} lists served in this window.` }));
  if (m.note) card.appendChild(el("p", { class: "note", text: m.note }));
  for (const f of [...m.inputs, m.prediction]) {
    const id = `${mid}-${tid(f.feature)}`;
    const prediction = f.feature === "prediction.top_score";
    const sec = el("div", { class: "feature", "data-testid": id });
    sec.appendChild(el("h4", {}, [el("span", { text: `${f.label} ` }), pill(f.status, `${id}-status`)]));
    sec.appendChild(el("p", { text: ADVICE[f.status] }));
    sec.appendChild(
      el("p", { class: "figures" }, [
        "Difference from ",
        prediction ? "the model's first day" : "training",
        " (PSI): ",
        el("b", { "data-testid": `${id}-psi`, text: fixed(f.psi, 3) }),
        " · missing: ",
        el("b", { "data-testid": `${id}-missing`, text: pct(f.missing_share) }),
        " · out of range: ",
        el("b", { text: pct(f.out_of_range_share) }),
        " · observations: ",
        el("b", { text: num(f.observations) }),
      ]),
    );
    const grid = el("div", { class: "pair" });
    grid.appendChild(
      lineChart({
        title: `Difference from ${prediction ? "the first day" : "training"} per hour (PSI; green fine, yellow watch, red act)`,
        hours,
        bands: d.settings.psi,
        series: [{ name: "PSI", color: "#24292f", values: f.series.map((s) => s.psi) }],
      }),
    );
    grid.appendChild(histogramChart(f.bins, "Share of values per range"));
    sec.appendChild(grid);
    card.appendChild(sec);
  }
  const c = m.catalogue;
  const cid = `${mid}-catalogue`;
  const cat = el("div", { class: "feature", "data-testid": cid });
  cat.appendChild(el("h4", {}, [el("span", { text: "Recommended products the model has never seen " }), pill(c.status, `${cid}-status`)]));
  cat.appendChild(
    el("p", {}, [el("b", { "data-testid": `${cid}-share`, text: pct(c.unknown_share) }), ` of ${num(c.shown)} recommended products are unknown to the model (new in the catalogue since training).`]),
  );
  cat.appendChild(
    lineChart({
      title: "Share of unknown products per hour",
      hours,
      format: (v) => pct(v, 0),
      bands: d.settings.unknown_items,
      series: [{ name: "unknown", color: "#8250df", values: c.series.map((s) => s.unknown_share) }],
    }),
  );
  card.appendChild(cat);
  return card;
}
