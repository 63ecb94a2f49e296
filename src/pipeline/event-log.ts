import type { EventMessage } from "../events/types";

/**
 * Hive-style key of one event-log object, partitioned by tenant and the hour the
 * events were received: `events/tenant=…/dt=YYYY-MM-DD/hour=HH/<name>.ndjson`.
 * DuckDB, Spark and warehouses read the partitions as columns.
 */
export function eventLogKey(tenant: string, receivedAt: number, name: string): string {
  const iso = new Date(receivedAt).toISOString();
  return `events/tenant=${tenant}/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/${name}.ndjson`;
}

/** Groups messages by their log partition (tenant and hour of receipt). */
export function partition(messages: Array<{ body: EventMessage }>): Map<string, Array<{ body: EventMessage }>> {
  const groups = new Map<string, Array<{ body: EventMessage }>>();
  for (const m of messages) {
    const key = `${m.body.tenant}\u0000${hourOf(m.body.received_at)}`;
    const group = groups.get(key) ?? [];
    group.push(m);
    groups.set(key, group);
  }
  return groups;
}

/**
 * Object name for a group: first receipt time (so names sort in time) plus a
 * hash of the queue message ids, so a redelivered batch overwrites its own
 * object instead of writing the same events twice.
 */
export async function objectName(firstReceivedAt: number, messageIds: string[]): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode([...messageIds].sort().join("\n")));
  const hex = [...new Uint8Array(digest).slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${String(firstReceivedAt).padStart(13, "0")}-${hex}`;
}

/** Serialises messages as NDJSON, one event-log line per message. */
export function toNdjson(messages: Array<{ body: EventMessage }>): string {
  return messages.map((m) => JSON.stringify(m.body)).join("\n") + "\n";
}

function hourOf(ms: number): number {
  return Math.floor(ms / 3_600_000);
}
