import { FRESH_STATE_DEFAULTS, type FreshStateOptions, checkOptions } from "../models/ranker/fresh";

const cache = new Map<string, FreshStateOptions>();

/**
 * The co-visitation state's bounds (design 0028): the defaults, overridden by the
 * `FRESH_STATE` variable, a JSON object with any of `max_items`, `neighbours`,
 * `window`, `half_life_s`, `visit_gap_s`, `max_visitors` (positive integers). A bad
 * value throws: an unbounded state is worse than no fresh items.
 */
export function freshStateOptions(raw: string | undefined): FreshStateOptions {
  const key = raw ?? "";
  const hit = cache.get(key);
  if (hit) return hit;
  const parsed: unknown = key.trim() === "" ? {} : JSON.parse(key);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new RangeError("FRESH_STATE must be a JSON object");
  const unknown = Object.keys(parsed).filter((k) => !(k in FRESH_STATE_DEFAULTS));
  if (unknown.length > 0) throw new RangeError(`FRESH_STATE has unknown options: ${unknown.join(", ")}`);
  const options = { ...FRESH_STATE_DEFAULTS, ...(parsed as Partial<FreshStateOptions>) };
  checkOptions(options);
  cache.set(key, options);
  return options;
}
