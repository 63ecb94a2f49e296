import type { DashboardData, RetrainRequestInfo, RetrainRunInfo } from "../../monitor/dashboard-data";
import { $, el, pill } from "./dom";
import { when } from "./format";

/** "Retraining": what drift asked for (one request per model and day) and what each retrain run decided. */
export function renderRetrain(d: DashboardData): void {
  const box = $("retrain-body");
  box.replaceChildren();
  const { requests, runs } = d.retrain;
  box.appendChild(el("h3", { text: "Requests from drift" }));
  box.appendChild(requests.length ? el("div", { class: "scroll" }, [requestTable(requests)]) : el("p", { class: "muted", "data-testid": "retrain-none", text: "No model has asked for a retrain." }));
  box.appendChild(el("h3", { text: "Retrain runs" }));
  box.appendChild(runs.length ? el("div", { class: "scroll" }, [runTable(runs)]) : el("p", { class: "muted", text: "No retrain has run yet (npm run retrain)." }));
}

function requestTable(requests: RetrainRequestInfo[]): HTMLElement {
  const t = el("table", { "data-testid": "retrain-requests" });
  t.appendChild(
    el("thead", {}, [
      el(
        "tr",
        {},
        ["Model", "Asked", "Why", "Delivery", "What came of it"].map((h) => el("th", { text: h })),
      ),
    ]),
  );
  const tb = el("tbody");
  for (const r of requests) {
    const delivery = r.status === "sent" ? `sent (${r.channel})` : r.status === "recorded" ? "recorded (notifications off)" : `${r.status}${r.error ? `: ${r.error}` : ""}`;
    tb.appendChild(
      el("tr", { "data-testid": `retrain-request-${r.model}` }, [
        el("td", { text: r.model }),
        el("td", { text: when(r.requested_at) }),
        el("td", { text: r.reasons.join("; ") || "–" }),
        el("td", {}, [pill(r.status === "sent" || r.status === "recorded" ? "fine" : "watch"), el("span", { text: ` ${delivery}` })]),
        el("td", { text: r.outcome ? outcomeText(r.outcome) : "no retrain yet" }),
      ]),
    );
  }
  t.appendChild(tb);
  return t;
}

function runTable(runs: RetrainRunInfo[]): HTMLElement {
  const t = el("table", { "data-testid": "retrain-runs" });
  t.appendChild(
    el("thead", {}, [
      el(
        "tr",
        {},
        ["Run", "Champion", "Verdict", "Why"].map((h) => el("th", { text: h })),
      ),
    ]),
  );
  const tb = el("tbody");
  for (const r of runs) {
    tb.appendChild(
      el("tr", {}, [
        el("td", { text: r.started_at.replace("T", " ").slice(0, 16) }),
        el("td", { text: r.champion ?? "–" }),
        el("td", {}, [pill(r.verdict === "published" ? "fine" : "act"), el("span", { text: ` ${outcomeText(r)}` })]),
        el("td", { text: r.reasons.join("; ") || "–" }),
      ]),
    );
  }
  t.appendChild(tb);
  return t;
}

function outcomeText(r: RetrainRunInfo): string {
  if (r.verdict === "published") return `${r.challenger} published; ${r.rollout ? `canary ${r.rollout}` : `rollout not started (${r.rollout_error ?? "?"})`}`;
  return r.verdict === "dry_run" ? "passed the gate (dry run, not published)" : "refused: the champion stays";
}
