import { isOutcomeType } from "../../contracts/events";
import type { QueueMessage } from "../../contracts/queue";
import { MODEL_INPUT_TYPES, monitoredValues } from "../drift/inputs";
import { type ImpressionRecord, type MonitorBatch, type OutcomeRecord, hourOf } from "./records";

/** Splits consumer messages into one compact MonitorBatch per tenant. */
export function monitorBatches(messages: readonly QueueMessage[]): Map<string, MonitorBatch> {
  const out = new Map<string, MonitorBatch>();
  const received = new Map<string, Map<string, number>>();
  const batchOf = (tenant: string) => {
    let b = out.get(tenant);
    if (!b) out.set(tenant, (b = { impressions: [], outcomes: [], received: [] }));
    return b;
  };
  for (const m of messages) {
    const batch = batchOf(m.tenant);
    if (m.kind === "impression") {
      const modelRan = m.features?.item_idx != null;
      const record: ImpressionRecord = {
        id: m.impression_id,
        visitor: m.visitor_id,
        at: m.served_at,
        type: m.type,
        experiment: m.experiment,
        variant: m.variant,
        model: m.model,
        degraded: m.degraded,
        latency_ms: typeof m.latency_ms === "number" && Number.isFinite(m.latency_ms) ? m.latency_ms : null,
        values: MODEL_INPUT_TYPES.has(m.type) && m.features ? monitoredValues(m.features) : {},
        ranker: m.features?.ranker ?? null,
        top_score: modelRan && m.degraded === null && m.items[0] ? m.items[0].score : null,
        items: m.items.map((i) => i.item_id),
      };
      batch.impressions.push(record);
      continue;
    }
    const key = `${m.tenant}\n${hourOf(m.received_at)}`;
    const perType = received.get(key) ?? new Map<string, number>();
    perType.set(m.event.type, (perType.get(m.event.type) ?? 0) + 1);
    received.set(key, perType);
    if (isOutcomeType(m.event.type) && m.attribution && m.attribution.length > 0) {
      const seen = new Map<string, OutcomeRecord["impressions"][number]>();
      for (const a of m.attribution) seen.set(a.impression_id, { impression_id: a.impression_id, experiment: a.experiment, variant: a.variant });
      batch.outcomes.push({ id: `${m.visitor_id}:${m.event.id}`, type: m.event.type, at: m.received_at, impressions: [...seen.values()] });
    }
  }
  for (const [key, perType] of received) {
    const [tenant, hour] = key.split("\n") as [string, string];
    for (const [type, count] of perType) batchOf(tenant).received.push({ hour: Number(hour), type, count });
  }
  return out;
}
