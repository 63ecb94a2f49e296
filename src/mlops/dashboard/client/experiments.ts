import type { Status } from "../../drift/status";
import type { VariantResult } from "../../experiments/analysis";
import type { DashboardData, ExperimentReport } from "../../monitor/dashboard-data";
import type { Comparison } from "../../stats/proportions";
import { barChart } from "./charts";
import { $, el, pill } from "./dom";
import { fixed, num, pct, tid, when } from "./format";

const COLUMNS = ["Variant", "Weight", "Visitors", "Lists shown", "Clicks", "Add-to-carts", "Purchases", "Click rate (95% range)", "Conversion (95% range)", "Click rate vs control"];

/** "Better" or "worse" only when the difference is clear. */
function verdict(cmp: Comparison | null): [Status, string] {
  if (!cmp?.lift) return ["no_data", "Not enough data yet"];
  if (!cmp.significant) return ["watch", "No clear difference yet"];
  return cmp.lift.value > 0 ? ["fine", "Better than control"] : ["act", "Worse than control"];
}

/** "Experiments: which version sells better?": per experiment, the split check, the table and the click-rate chart. */
export function renderExperiments(d: DashboardData): void {
  const box = $("experiments-body");
  box.replaceChildren();
  if (!d.experiments.length) {
    box.appendChild(el("p", { class: "muted", text: "No experiment has served traffic yet." }));
    return;
  }
  for (const e of d.experiments) box.appendChild(experiment(d, e));
}

function experiment(d: DashboardData, e: ExperimentReport): HTMLElement {
  const eid = `exp-${tid(e.experiment)}`;
  const art = el("article", { class: "experiment", "data-testid": eid });
  const current = d.config?.experiment?.name === e.experiment;
  art.appendChild(el("h3", { text: `Experiment ${e.experiment}${current ? " (running)" : ""}` }));
  art.appendChild(el("p", { class: "muted", text: `From ${when(e.first_at)} to ${when(e.last_at)}. Control: ${e.control || "–"}.` }));
  if (e.srm?.mismatch) {
    const expected = Object.entries(e.srm.expected)
      .map(([k, n]) => `${k} ${Math.round(n)}`)
      .join(", ");
    const got = e.variants.map((v) => `${v.variant} ${v.visitors}`).join(", ");
    art.appendChild(
      el("div", {
        class: "banner act",
        "data-testid": `${eid}-srm`,
        text: `Warning: the traffic split looks broken. Expected visitors ${expected}; got ${got} (chance p = ${e.srm.p_value.toExponential(1)}). Do not trust these results until assignment is fixed.`,
      }),
    );
  } else if (e.srm) {
    art.appendChild(el("p", { class: "ok", "data-testid": `${eid}-srm-ok`, text: `Traffic split matches the configured weights (p = ${fixed(e.srm.p_value, 3)}).` }));
  }
  const table = el("table", {});
  table.appendChild(
    el("thead", {}, [
      el(
        "tr",
        {},
        COLUMNS.map((h) => el("th", { text: h })),
      ),
    ]),
  );
  const body = el("tbody");
  for (const v of e.variants) body.appendChild(variantRow(`${eid}-${tid(v.variant)}`, v));
  table.appendChild(body);
  art.appendChild(el("div", { class: "scroll" }, [table]));
  const max = Math.max(...e.variants.map((v) => (v.ctr ? v.ctr.high : 0)), 0.01);
  art.appendChild(
    barChart({
      title: "Click rate per variant with its 95% range (whiskers)",
      max,
      format: (x) => pct(x),
      rows: e.variants.map((v) => ({
        label: v.variant,
        value: v.ctr ? v.ctr.value : 0,
        low: v.ctr ? v.ctr.low : null,
        high: v.ctr ? v.ctr.high : null,
        color: v.variant === e.control ? "#8c959f" : "#0969da",
      })),
    }),
  );
  return art;
}

function variantRow(vid: string, v: VariantResult): HTMLElement {
  const cmp = v.vs_control ? v.vs_control.ctr : null;
  const vd = v.vs_control ? verdict(cmp) : null;
  const lift = cmp?.lift ? ` (${cmp.lift.value >= 0 ? "+" : ""}${pct(cmp.lift.value)}, p = ${fixed(cmp.p_value, 3)})` : "";
  return el("tr", { "data-testid": vid }, [
    el("td", { text: v.variant }),
    el("td", { text: v.weight === null ? "–" : String(v.weight) }),
    el("td", { "data-testid": `${vid}-visitors`, text: num(v.visitors) }),
    el("td", { "data-testid": `${vid}-impressions`, text: num(v.impressions) }),
    el("td", { "data-testid": `${vid}-clicks`, text: num(v.clicks) }),
    el("td", { "data-testid": `${vid}-carts`, text: num(v.add_to_carts) }),
    el("td", { "data-testid": `${vid}-purchases`, text: num(v.purchases) }),
    el("td", { "data-testid": `${vid}-ctr`, text: v.ctr ? `${pct(v.ctr.value)} (${pct(v.ctr.low)} – ${pct(v.ctr.high)})` : "–" }),
    el("td", { text: v.conversion ? `${pct(v.conversion.value)} (${pct(v.conversion.low)} – ${pct(v.conversion.high)})` : "–" }),
    el("td", {}, vd ? [pill(vd[0], `${vid}-verdict`), el("span", { text: ` ${vd[1]}${lift}` })] : [el("span", { class: "muted", text: "control" })]),
  ]);
}
