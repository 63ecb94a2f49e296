import type { RankerSpec } from "../../models/manifest";
import { RANKER_FEATURES, isMissingRankerValue } from "../../models/ranker/features";
import { binOf } from "../stats/psi";
import { MISSING_BIN, OUT_OF_RANGE_BIN } from "./report";

/** A model's ranker drift contract: the features its ranker reads (the logged row's order) and their training histograms. */
export interface RankerBaselines {
  features: readonly string[];
  baselines: NonNullable<RankerSpec["baselines"]>;
}

/** The ranker section's drift contract, or `null` for a version without ranker baselines. */
export function rankerBaselinesOf(ranker: RankerSpec | undefined): RankerBaselines | null {
  return ranker?.baselines ? { features: ranker.features.map((f) => f.name), baselines: ranker.baselines } : null;
}

/** Ranker features and model inputs share the drift tables and the report: ranker ones are prefixed. */
export function rankerDriftName(feature: string): string {
  return `ranker.${feature}`;
}

/** A human label for the dashboard: the feature definition's description. */
export function rankerFeatureLabel(feature: string): string {
  const def = RANKER_FEATURES.find((f) => f.name === feature);
  return `Ranker feature ${feature}${def ? `: ${def.description}` : ""}`;
}

/**
 * The drift bin of every monitored value of one list's logged ranker row: missing
 * (the feature's "cannot provide" value, or not a number), out of the training
 * range, or its training bin. A row that does not match the manifest's feature
 * list (another length) counts for nothing.
 */
export function rankerBins(ref: RankerBaselines, row: ReadonlyArray<number | null>): Array<[name: string, bin: number]> {
  if (row.length !== ref.features.length) return [];
  const out: Array<[string, number]> = [];
  ref.features.forEach((feature, i) => {
    const hist = ref.baselines[feature];
    if (!hist) return;
    const x = row[i];
    out.push([rankerDriftName(feature), isMissingRankerValue(feature, x) ? MISSING_BIN : (binOf(x!, hist.edges) ?? OUT_OF_RANGE_BIN)]);
  });
  return out;
}
