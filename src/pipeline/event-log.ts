import type { QueueMessage } from "../contracts/queue";
import { messageTime } from "./message";

/** Top-level folder of each message kind in the log bucket. */
const FOLDER = { event: "events", impression: "impressions" } as const;

/**
 * Hive-style key of one log object, partitioned by message kind, tenant and the
 * hour the edge received (or served) it:
 * `events/tenant=…/dt=YYYY-MM-DD/hour=HH/<name>.ndjson` (impressions likewise).
 * DuckDB, Spark and warehouses read the partitions as columns.
 */
export function eventLogKey(tenant: string, at: number, name: string, kind: QueueMessage["kind"] = "event"): string {
  const iso = new Date(at).toISOString();
  return `${FOLDER[kind]}/tenant=${tenant}/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/${name}.ndjson`;
}

/** Groups messages by their log partition (kind, tenant and hour). */
export function partition<M extends { body: QueueMessage }>(messages: M[]): Map<string, M[]> {
  const groups = new Map<string, M[]>();
  for (const m of messages) {
    const key = `${m.body.kind}\u0000${m.body.tenant}\u0000${Math.floor(messageTime(m.body) / 3_600_000)}`;
    const group = groups.get(key) ?? [];
    group.push(m);
    groups.set(key, group);
  }
  return groups;
}

/**
 * Object name for a group: first time (so names sort in time) plus a hash of the
 * queue message ids, so a redelivered batch overwrites its own object instead of
 * writing the same lines twice.
 */
export async function objectName(firstAt: number, messageIds: string[]): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode([...messageIds].sort().join("\n")));
  const hex = [...new Uint8Array(digest).slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${String(firstAt).padStart(13, "0")}-${hex}`;
}

/** Serialises messages as NDJSON, one log line per message. */
export function toNdjson(messages: Array<{ body: QueueMessage }>): string {
  return messages.map((m) => JSON.stringify(m.body)).join("\n") + "\n";
}
