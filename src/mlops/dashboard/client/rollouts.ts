import type { DashboardData } from "../../monitor/dashboard-data";
import type { Rollout } from "../../rollout/plan";
import type { RolloutAction } from "./api";
import { $, el, pill } from "./dom";
import { pct, when } from "./format";

/** Posts an admin action, then reloads the page's data (main.ts). */
export type Act = (path: RolloutAction, body: { reason?: string }) => void;

/** "New model rollouts": the running one with its buttons, past ones, and the history. */
export function renderRollouts(d: DashboardData, act: Act): void {
  const box = $("rollouts-body");
  box.replaceChildren();
  const running = d.rollouts.find((r) => r.status === "running");
  if (running) box.appendChild(runningCard(running, act));
  else box.appendChild(el("p", { "data-testid": "rollout-none", text: `No rollout in progress. ${d.config?.default_model ? `All traffic is served by ${d.config.default_model}.` : ""}` }));
  const past = d.rollouts.filter((r) => r.status !== "running");
  if (past.length) box.appendChild(el("div", { class: "scroll" }, [pastTable(past)]));
  const hist = el("ol", { class: "history", "data-testid": "history" });
  for (const h of d.history.slice(0, 30)) {
    const det = h.detail || {};
    const text =
      `${when(h.at)} — ${h.kind.replace(/_/g, " ")}` +
      (h.rollout ? ` ${h.rollout}` : "") +
      (det.percent !== undefined ? ` at ${det.percent}%` : "") +
      (det.reason ? `: ${det.reason}` : "") +
      (det.by ? ` (by ${det.by})` : "");
    hist.appendChild(el("li", { text }));
  }
  box.appendChild(el("h3", { text: "History" }));
  box.appendChild(d.history.length ? hist : el("p", { class: "muted", text: "Nothing yet." }));
}

function runningCard(r: Rollout, act: Act): HTMLElement {
  const card = el("article", { class: "rollout", "data-testid": "rollout-current" });
  card.appendChild(el("h3", {}, [el("span", { text: `Rolling out ${r.model} ` }), pill("watch", "rollout-status")]));
  const g = r.guard_rails;
  card.appendChild(
    el("p", {}, [
      "The new model serves ",
      el("b", { "data-testid": "rollout-percent", text: `${r.steps[r.step]}%` }),
      ` of traffic (step ${r.step + 1} of ${r.steps.length}); the rest stays on ${r.baseline || "the fallback lists"}. It is rolled back automatically if more than ${pct(g.max_error_rate)} of its lists fail, its 95th-percentile latency passes ${g.max_p95_latency_ms} ms, or its click rate falls more than ${pct(g.max_ctr_drop, 0)} below the current model's.`,
    ]),
  );
  const steps = el("div", { class: "steps" });
  r.steps.forEach((s, i) => {
    steps.appendChild(el("span", { class: i < r.step ? "done" : i === r.step ? "now" : "", text: `${s}%` }));
  });
  card.appendChild(steps);
  const next = r.steps[r.step + 1];
  const promote = el("button", { type: "button", "data-testid": "rollout-promote", text: next !== undefined ? `Promote to ${next}%` : "Promote" });
  const back = el("button", { type: "button", class: "danger", "data-testid": "rollout-rollback", text: "Roll back" });
  promote.addEventListener("click", () => {
    if (confirm(`Send more traffic to ${r.model}?`)) act(`/admin/api/rollouts/${r.id}/promote`, {});
  });
  back.addEventListener("click", () => {
    const reason = prompt("Why roll back? (kept in the history)", "rolled back from the dashboard");
    if (reason !== null) act(`/admin/api/rollouts/${r.id}/rollback`, { reason: reason || "rolled back from the dashboard" });
  });
  card.appendChild(el("p", {}, [promote, " ", back]));
  return card;
}

function pastTable(past: Rollout[]): HTMLElement {
  const t = el("table", { "data-testid": "rollout-list" });
  t.appendChild(
    el("thead", {}, [
      el(
        "tr",
        {},
        ["Rollout", "Model", "Outcome", "Why", "When"].map((h) => el("th", { text: h })),
      ),
    ]),
  );
  const tb = el("tbody");
  for (const r of past) {
    const promoted = r.status === "promoted";
    tb.appendChild(
      el("tr", { "data-testid": `rollout-${r.id}` }, [
        el("td", { text: r.id }),
        el("td", { text: r.model }),
        el("td", {}, [pill(promoted ? "fine" : "act"), el("span", { text: ` ${promoted ? "now serves everyone" : `rolled back at ${r.steps[r.step]}%`}` })]),
        el("td", { "data-testid": `rollout-${r.id}-reason`, text: r.reason || "–" }),
        el("td", { text: when(r.updated_at) }),
      ]),
    );
  }
  t.appendChild(tb);
  return t;
}
