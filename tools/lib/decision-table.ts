/**
 * A retrain run's gate decision as a Markdown table (`npm run retrain` prints it on stderr;
 * the end-to-end test writes it to $TMPDIR): every metric for champion and challenger on
 * the held-out visits, the paired difference and its 95 % bootstrap interval, then every
 * rule of the gate with its verdict. Figures are percentages (HR and MRR × 100).
 */
import type { Metric } from "../../src/offline/retrain/compare";
import type { RunRecord } from "./retrain";

const METRICS: readonly Metric[] = ["hr@20", "mrr@20", "new_hr@20", "repeat_hr@20"];

const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(2) : "–");
const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)}` : "–");

/** The table of `record` (a run refused before judging shows its reasons instead). */
export function decisionTable(record: RunRecord): string {
  const head = `Gate decision of run ${record.run} (tenant ${record.tenant}${record.request ? `, request ${record.request}` : ""}): ${record.verdict.toUpperCase()}`;
  const who = `champion ${record.champion ?? "popularity (no default model)"}, challenger ${record.challenger ?? "trained, not published"}; held out ${record.holdout_window.from} → ${record.holdout_window.to} (${record.sessions.holdout} visits)`;
  const out = [head, who, ""];
  const c = record.comparison;
  if (c) {
    out.push("| metric | champion | challenger | difference (points) | 95 % interval of the difference |", "| --- | ---: | ---: | ---: | --- |");
    for (const m of METRICS) {
      const e = c[m];
      out.push(`| ${m} | ${pct(e.champion.value)} | ${pct(e.challenger.value)} | ${signed(e.difference.value)} | ${signed(e.difference.low)} to ${signed(e.difference.high)} |`);
    }
    out.push("", "| gate rule | verdict | detail |", "| --- | --- | --- |");
    for (const check of record.checks) out.push(`| ${check.rule} | ${check.passed ? "pass" : "FAIL"} | ${check.detail} |`);
  }
  // Without a comparison the run was refused before judging (too little data, an experiment running).
  if (!c && record.reasons.length > 0) out.push(`Refused: ${record.reasons.join("; ")}`);
  if (record.rollout) out.push("", "id" in record.rollout ? `Canary rollout ${record.rollout.id} started.` : `Rollout not started: ${record.rollout.error}`);
  return `${out.join("\n")}\n`;
}
