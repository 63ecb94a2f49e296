import type { Status } from "../../drift/status";
import { worst } from "../../drift/status";
import type { DashboardData } from "../../monitor/dashboard-data";
import { $, el, pill } from "./dom";
import { num } from "./format";

/** The four cards at the top: models, experiments, rollout, serving. */
export function renderSummary(d: DashboardData): void {
  const box = $("summary");
  box.replaceChildren();
  const driftStatus = worst(d.drift.map((m) => m.status));
  const srm = d.experiments.some((e) => e.srm?.mismatch);
  const running = d.rollouts.find((r) => r.status === "running");
  const { totals } = d.ingestion;
  const errRate = totals.impressions ? totals.errors / totals.impressions : null;
  const cards: Array<[title: string, status: Status, text: string, testid: string]> = [
    ["Models vs training data", driftStatus, d.drift.length ? `${d.drift.length} model(s) served` : "No model served in this window", "summary-drift"],
    ["Experiments", srm ? "act" : d.experiments.length ? "fine" : "no_data", srm ? "A traffic split looks broken" : `${d.experiments.length} experiment(s)`, "summary-experiments"],
    ["Rollout", running ? "watch" : "fine", running ? `${running.model} on ${running.steps[running.step]}% of traffic` : "No rollout in progress", "summary-rollout"],
    ["Serving", errRate === null ? "no_data" : errRate > 0.05 ? "act" : errRate > 0.01 ? "watch" : "fine", `${num(totals.events)} events, ${num(totals.impressions)} lists shown`, "summary-serving"],
  ];
  for (const [title, status, text, testid] of cards) {
    box.appendChild(el("div", { class: `card ${status}`, "data-testid": testid }, [el("h3", { text: title }), pill(status), el("p", { text })]));
  }
}
