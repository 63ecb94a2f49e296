import { psi } from "../stats/psi";
import { SCORE_EDGES } from "./inputs";
import { type DriftSettings, type Status, classify, worst } from "./status";

/** Bin index of a missing value and of an out-of-range value in stored histograms. */
export const MISSING_BIN = -1;
export const OUT_OF_RANGE_BIN = -2;

/** One stored histogram cell: (hour, bin) → count. */
export type Cell = {
  hour: number;
  bin: number;
  count: number;
};

/** Drift of one input over a window, and per hour for the chart. */
export interface FeatureDrift {
  feature: string;
  /** What the figure is, in words (the dashboard's heading). */
  label: string;
  status: Status;
  observations: number;
  psi: number | null;
  missing_share: number | null;
  /** Share missing in training, where the baseline records it (ranker features); missing shares are judged by their excess over it. */
  training_missing_share: number | null;
  out_of_range_share: number | null;
  /** Shares per bin: training vs served in the window (for the comparison chart). */
  bins: { edges: number[]; training: number[]; served: number[] };
  series: Array<{ hour: number; observations: number; psi: number | null; missing_share: number | null; status: Status }>;
}

/**
 * A training histogram: counts per bin, and — for ranker features — how many
 * training values were missing. With `missing`, the missing share is one more
 * PSI bin and is judged by its rise over training (a feature missing for 40 %
 * of training lists is not drifting at 40 %); without it (model inputs), a
 * missing input is judged by its share alone.
 */
export interface Baseline {
  edges: number[];
  counts: number[];
  missing?: number;
}

/** Summarises one input's cells against its training histogram. */
export function featureDrift(feature: string, baseline: Baseline, cells: Cell[], hours: number[], s: DriftSettings, label = feature): FeatureDrift {
  const nBins = baseline.counts.length;
  const withMissing = baseline.missing !== undefined;
  const trainingTotal = baseline.counts.reduce((a, b) => a + b, 0);
  const trainingMissing = withMissing && trainingTotal + baseline.missing! > 0 ? baseline.missing! / (trainingTotal + baseline.missing!) : null;
  const reference = withMissing ? [...baseline.counts, baseline.missing!] : baseline.counts;
  const sum = (cs: Cell[]) => {
    const counts = new Array<number>(nBins).fill(0);
    let missing = 0;
    let outOfRange = 0;
    for (const c of cs) {
      if (c.bin === MISSING_BIN) missing += c.count;
      else if (c.bin === OUT_OF_RANGE_BIN) outOfRange += c.count;
      else if (c.bin >= 0 && c.bin < nBins) counts[c.bin]! += c.count;
    }
    return { counts, missing, outOfRange, total: counts.reduce((a, b) => a + b, 0) + missing + outOfRange };
  };
  const judge = (h: ReturnType<typeof sum>) => {
    const present = h.total - h.missing;
    const enough = h.total >= s.min_count;
    const inRange = present - h.outOfRange;
    const compared = withMissing ? inRange + h.missing : inRange;
    const p = enough && compared >= s.min_count ? psi(reference, withMissing ? [...h.counts, h.missing] : h.counts) : null;
    const missingShare = h.total > 0 ? h.missing / h.total : null;
    const missingRise = missingShare !== null ? missingShare - (trainingMissing ?? 0) : null;
    const oorShare = present > 0 ? h.outOfRange / present : null;
    const status = enough ? worst([classify(p, s.psi), classify(missingRise, s.missing), present >= s.min_count ? classify(oorShare, s.out_of_range) : "no_data"]) : "no_data";
    return { psi: p, missing_share: missingShare, out_of_range_share: oorShare, status };
  };
  const whole = sum(cells);
  const verdict = judge(whole);
  const byHour = new Map<number, Cell[]>();
  for (const c of cells) byHour.set(c.hour, [...(byHour.get(c.hour) ?? []), c]);
  const series = hours.map((hour) => {
    const h = sum(byHour.get(hour) ?? []);
    const j = judge(h);
    return { hour, observations: h.total, psi: j.psi, missing_share: j.missing_share, status: j.status };
  });
  const servedInRange = whole.counts.reduce((a, b) => a + b, 0);
  return {
    feature,
    label,
    observations: whole.total,
    ...verdict,
    training_missing_share: trainingMissing,
    bins: {
      edges: baseline.edges,
      training: baseline.counts.map((c) => (trainingTotal > 0 ? c / trainingTotal : 0)),
      served: whole.counts.map((c) => (servedInRange > 0 ? c / servedInRange : 0)),
    },
    series,
  };
}

/** Prediction drift: the top-score histogram of the window against the model's first day of serving. */
export function predictionDrift(reference: number[], cells: Cell[], hours: number[], s: DriftSettings): FeatureDrift {
  return featureDrift("prediction.top_score", { edges: [...SCORE_EDGES], counts: reference }, cells, hours, s, "How sure the model is (score of its first pick)");
}

/** Catalogue drift: share of recommended items the model does not know. */
export interface CatalogueDrift {
  status: Status;
  shown: number;
  unknown: number;
  unknown_share: number | null;
  series: Array<{ hour: number; shown: number; unknown_share: number | null; status: Status }>;
}

export function catalogueDrift(rows: Array<{ hour: number; shown: number; unknown: number }>, hours: number[], s: DriftSettings): CatalogueDrift {
  const judge = (shown: number, unknown: number) => {
    const share = shown > 0 ? unknown / shown : null;
    return { share, status: shown >= s.min_count ? classify(share, s.unknown_items) : ("no_data" as Status) };
  };
  const shown = rows.reduce((a, r) => a + r.shown, 0);
  const unknown = rows.reduce((a, r) => a + r.unknown, 0);
  const whole = judge(shown, unknown);
  const byHour = new Map(rows.map((r) => [r.hour, r]));
  return {
    status: whole.status,
    shown,
    unknown,
    unknown_share: whole.share,
    series: hours.map((hour) => {
      const r = byHour.get(hour);
      const j = judge(r?.shown ?? 0, r?.unknown ?? 0);
      return { hour, shown: r?.shown ?? 0, unknown_share: j.share, status: j.status };
    }),
  };
}
