import { eventLogKey, objectName, partition, toNdjson } from "../event-log";
import { messageTime } from "../message";
import { type LogLine, type Sink, describe } from "./sink";

/**
 * The R2 event log, the source of truth: NDJSON, one object per tenant, kind and
 * hour (design 0005). Object names hash the carried line keys, so a redelivered
 * batch overwrites its own object instead of adding a copy.
 */
export const eventLogSink: Sink = {
  name: "event_log",
  delivery: "exact",
  async accept(lines, env, log) {
    const failed = new Set<LogLine>();
    for (const group of partition([...lines]).values()) {
      const first = group[0]!.body;
      const at = messageTime(first);
      try {
        const name = await objectName(
          at,
          group.map((l) => l.key),
        );
        await env.EVENT_LOG.put(eventLogKey(first.tenant, at, name, first.kind), toNdjson(group), { httpMetadata: { contentType: "application/x-ndjson" } });
      } catch (err) {
        for (const l of group) failed.add(l);
        log.error("event_log_write_failed", { tenant: first.tenant, count: group.length, error: describe(err) });
      }
    }
    return failed;
  },
};
