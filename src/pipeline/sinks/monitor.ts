import { monitorBatches } from "../../mlops/monitor/feed";
import { type LogLine, type Sink, describe } from "./sink";

/**
 * Each tenant's MonitorDO (drift, experiments, serving figures). Its aggregates must
 * be exact: a tenant whose object failed gets its lines again (the object
 * deduplicates, and so do the log's readers).
 */
export const monitorSink: Sink = {
  name: "mlops_monitor",
  delivery: "exact",
  async accept(lines, env, log) {
    const failedTenants = new Set<string>();
    for (const [tenant, batch] of monitorBatches(lines.map((l) => l.body))) {
      try {
        await env.MONITOR.getByName(tenant).ingest(tenant, batch);
      } catch (err) {
        failedTenants.add(tenant);
        log.error("monitor_feed_failed", { tenant, error: describe(err) });
      }
    }
    return new Set<LogLine>(lines.filter((l) => failedTenants.has(l.body.tenant)));
  },
};
