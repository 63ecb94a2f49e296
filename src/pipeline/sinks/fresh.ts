import { freshViews } from "../../fresh/views";
import type { EventMessage } from "../../contracts/queue";
import { type LogLine, type Sink, describe } from "./sink";

/**
 * Each tenant's streaming co-visitation (FreshDO, design 0028): product views pair
 * with the visit's latest items, so new items get neighbours between retrains. Best
 * effort like trending: the log is the source of truth, the state decays, and a
 * redelivered batch adds nothing a repeat view would not (repeats within a visit are
 * not counted again).
 */
export const freshSink: Sink = {
  name: "fresh",
  delivery: "best_effort",
  async accept(lines, env, log) {
    const events = lines.flatMap((l) => (l.body.kind === "event" ? [l.body as EventMessage] : []));
    for (const [tenant, views] of freshViews(events)) {
      try {
        await env.FRESH.getByName(tenant).observe(views);
      } catch (err) {
        log.warn("fresh_update_failed", { tenant, error: describe(err) });
      }
    }
    return new Set<LogLine>();
  },
};
