/**
 * V-SKNN options: a small grid tried on every training run, the best on the run's
 * own held-out sessions shipped (`chooseVsknnOptions`), so a dataset gets the
 * neighbourhood that suits it instead of one tuned on Diginetica. Offline code.
 */
import type { KnnIndex } from "../../models/knn/index";
import { createVsknn } from "../../models/knn/vsknn";
import type { Manifest } from "../../models/manifest";

/** The manifest's V-SKNN options. */
export type VsknnManifestOptions = NonNullable<Manifest["candidates"]>["options"];

/** V-SKNN options tuned on the Diginetica validation split (results/knn-validation.md): the first setting tried. */
export const VSKNN_OPTIONS: VsknnManifestOptions = { sample_size: 500, neighbours: 100, weighting: "linear", match_decay: "div", idf: 2, backfill: true };

/**
 * Settings tried per run: neighbourhood size (few close sessions vs many), how much the
 * latest click counts (linear vs 1/position), and the IDF boost (rare items from
 * neighbours; off for shops where popular items are the right answer).
 */
export const VSKNN_GRID: readonly VsknnManifestOptions[] = [
  VSKNN_OPTIONS,
  { ...VSKNN_OPTIONS, neighbours: 50 },
  { ...VSKNN_OPTIONS, neighbours: 200, sample_size: 1000 },
  { ...VSKNN_OPTIONS, weighting: "div" },
  { ...VSKNN_OPTIONS, idf: 0 },
  { ...VSKNN_OPTIONS, weighting: "quadratic" },
];

/** Blend weight of the neural model against V-SKNN, tuned on the same split (results/eval-validation.md). */
export const MODEL_BLEND_WEIGHT = 0.1;

/** The chosen options and what each tried setting scored (HR@20 / MRR@20 on the held-out points). */
export interface VsknnChoice {
  options: VsknnManifestOptions;
  /** For the manifest's `selection`: points used, and each setting's figures. */
  selection: Record<string, number | string>;
}

const tag = (o: VsknnManifestOptions) => `m ${o.sample_size}, k ${o.neighbours}, ${o.weighting}, idf ${o.idf}`;

/**
 * Scores each setting of `grid` on next-item prediction over `sessions` (held out from
 * the `index`), at most `maxPoints` prefixes sampled evenly, by HR@20 + MRR@20 (the
 * ranker's own criterion). The first setting (the default) stays unless another beats it
 * by more than one standard error of its HR@20 on these points: a difference inside the
 * noise is not worth a different neighbourhood (a larger one costs serving time).
 * Deterministic.
 */
export function chooseVsknnOptions(
  index: KnnIndex,
  sessions: readonly (readonly string[])[],
  maxPoints: number,
  grid: readonly VsknnManifestOptions[] = VSKNN_GRID,
  log: (line: string) => void = () => undefined,
): VsknnChoice {
  const points: Array<{ prefix: readonly string[]; next: string }> = [];
  const total = sessions.reduce((n, s) => n + Math.max(0, s.length - 1), 0);
  const stride = Math.max(1, total / maxPoints);
  let p = 0;
  let next = 0;
  for (const s of sessions) {
    for (let i = 1; i < s.length; i++, p++) {
      if (p < next) continue;
      next += stride;
      points.push({ prefix: s.slice(0, i), next: s[i]! });
    }
  }
  const selection: Record<string, number | string> = { "vsknn.points": points.length, "vsknn.metric": "hr@20 + mrr@20, next item of held-out sessions" };
  const scored: Array<{ options: VsknnManifestOptions; hr: number; score: number }> = [];
  for (const o of grid) {
    const rec = createVsknn(index, { sampleSize: o.sample_size, neighbours: o.neighbours, weighting: o.weighting, matchDecay: o.match_decay, idf: o.idf, backfill: o.backfill });
    let hits = 0;
    let rr = 0;
    for (const { prefix, next: target } of points) {
      const rank = rec.score(prefix, 20).findIndex((s) => s.item === target);
      if (rank >= 0) (hits += 1), (rr += 1 / (rank + 1));
    }
    const n = Math.max(1, points.length);
    const hr = hits / n;
    const mrr = rr / n;
    selection[`vsknn[${tag(o)}].hr@20`] = Math.round(hr * 1e4) / 1e4;
    selection[`vsknn[${tag(o)}].mrr@20`] = Math.round(mrr * 1e4) / 1e4;
    log(`  V-SKNN ${tag(o)}: HR@20 ${(100 * hr).toFixed(2)} MRR@20 ${(100 * mrr).toFixed(2)} on ${points.length} held-out points`);
    scored.push({ options: o, hr, score: hr + mrr });
  }
  const first = scored[0];
  if (!first) throw new RangeError("chooseVsknnOptions needs at least one setting");
  const margin = Math.sqrt((first.hr * (1 - first.hr)) / Math.max(1, points.length));
  const best = scored.reduce((a, b) => (b.score > a.score ? b : a));
  const options = best.score > first.score + margin ? best.options : first.options;
  selection["vsknn.margin"] = Math.round(margin * 1e4) / 1e4;
  selection["vsknn.chosen"] = tag(options);
  return { options, selection };
}
