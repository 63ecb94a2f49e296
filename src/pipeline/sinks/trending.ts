import type { EventMessage } from "../../contracts/queue";
import { trendingWeights } from "../../trending/weights";
import { type LogLine, type Sink, describe } from "./sink";

/**
 * Each tenant's trending counts (views, add-to-carts and purchases, each visitor's
 * share capped). Best effort: the log is the source of truth, and a redelivered batch
 * counting twice is within what trending tolerates.
 */
export const trendingSink: Sink = {
  name: "trending",
  delivery: "best_effort",
  async accept(lines, env, log) {
    const now = Date.now();
    const events = lines.flatMap((l) => (l.body.kind === "event" ? [l.body as EventMessage] : []));
    for (const [tenant, items] of trendingWeights(events)) {
      try {
        await env.TRENDING.getByName(tenant).record([...items], now);
      } catch (err) {
        log.warn("trending_update_failed", { tenant, error: describe(err) });
      }
    }
    return new Set<LogLine>();
  },
};
