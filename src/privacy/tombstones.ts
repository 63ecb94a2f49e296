import { hmacHex } from "../auth/crypto";
import { EVENT_SCHEMA_VERSION } from "../contracts/events";
import type { QueueMessage } from "../contracts/queue";
import { markerSubject } from "./marker";

/** A tombstone travels through the event queue so the consumer purges the subject from the R2 log. */
export interface TombstoneMessage {
  kind: "tombstone";
  schema_version: typeof EVENT_SCHEMA_VERSION;
  tenant: string;
  erasure_id: string;
  /** The erased person's visitor ids (transient: the queue keeps messages ≤ 14 days). */
  visitor_ids: string[];
  erased_at: number;
}

/** What the log purge did, as recorded in the receipt. */
export interface LogPurge {
  objects_scanned: number;
  objects_rewritten: number;
  objects_deleted: number;
  lines_removed: number;
  purged_at: number;
}

/** Builds a tombstone message. */
export function tombstone(tenant: string, erasureId: string, visitorIds: string[], erasedAt: number): TombstoneMessage {
  return { kind: "tombstone", schema_version: EVENT_SCHEMA_VERSION, tenant, erasure_id: erasureId, visitor_ids: visitorIds, erased_at: erasedAt };
}

/** True for a well-formed tombstone message. */
export function isTombstone(body: unknown): body is TombstoneMessage {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  return (
    b.kind === "tombstone" &&
    b.schema_version === EVENT_SCHEMA_VERSION &&
    typeof b.tenant === "string" &&
    typeof b.erasure_id === "string" &&
    Array.isArray(b.visitor_ids) &&
    b.visitor_ids.every((v) => typeof v === "string") &&
    typeof b.erased_at === "number"
  );
}

/**
 * R2 key of an erasure marker. The visitor id is keyed-hashed, so the marker that
 * makes the consumer drop late messages is not itself a copy of the identifier.
 */
export async function markerKey(secret: string, tenant: string, visitorId: string): Promise<string> {
  return `erasures/tenant=${tenant}/visitors/${await hmacHex(secret, markerSubject(tenant, visitorId))}.json`;
}

/** R2 key of an erasure receipt. */
export function receiptKey(tenant: string, erasureId: string): string {
  return `erasures/tenant=${tenant}/receipts/${erasureId}.json`;
}

/**
 * Drops messages of erased visitors that were still in flight (served or received
 * before the erasure). One R2 HEAD per distinct visitor of the batch.
 */
export async function dropErased<M extends { body: QueueMessage }>(bucket: R2Bucket, secret: string, messages: M[]): Promise<{ kept: M[]; dropped: M[] }> {
  const subjects = new Map<string, { tenant: string; visitor: string }>();
  for (const m of messages) subjects.set(`${m.body.tenant}\u0000${m.body.visitor_id}`, { tenant: m.body.tenant, visitor: m.body.visitor_id });
  const erasedAt = new Map<string, number | null>(
    await Promise.all(
      [...subjects].map(async ([id, { tenant, visitor }]) => {
        const marker = await bucket.head(await markerKey(secret, tenant, visitor));
        return [id, marker ? Number(marker.customMetadata?.erased_at ?? Number.MAX_SAFE_INTEGER) : null] as const;
      }),
    ),
  );
  const kept: M[] = [];
  const dropped: M[] = [];
  for (const m of messages) {
    const at = erasedAt.get(`${m.body.tenant}\u0000${m.body.visitor_id}`);
    const time = m.body.kind === "event" ? m.body.received_at : m.body.served_at;
    (at !== null && at !== undefined && time <= at ? dropped : kept).push(m);
  }
  return { kept, dropped };
}

/**
 * Rewrites every event-log, impression-log and dead-letter object of the tenant
 * that holds a line of the erased visitors, without those lines (an object left
 * empty is deleted). Idempotent, so a redelivered tombstone is harmless.
 */
export async function purgeLog(bucket: R2Bucket, t: TombstoneMessage): Promise<LogPurge> {
  const visitors = new Set(t.visitor_ids);
  const report: LogPurge = { objects_scanned: 0, objects_rewritten: 0, objects_deleted: 0, lines_removed: 0, purged_at: 0 };
  for (const prefix of [`events/tenant=${t.tenant}/`, `impressions/tenant=${t.tenant}/`, "dead-letter/"]) {
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ prefix, cursor });
      for (const obj of page.objects) {
        report.objects_scanned++;
        const text = await (await bucket.get(obj.key))?.text();
        if (text === undefined) continue;
        const lines = text.split("\n").filter((l) => l.length > 0);
        const keep = lines.filter((l) => !mentions(l, t.tenant, visitors));
        if (keep.length === lines.length) continue;
        report.lines_removed += lines.length - keep.length;
        if (keep.length === 0) {
          await bucket.delete(obj.key);
          report.objects_deleted++;
        } else {
          await bucket.put(obj.key, `${keep.join("\n")}\n`, { httpMetadata: { contentType: "application/x-ndjson" } });
          report.objects_rewritten++;
        }
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }
  report.purged_at = Date.now();
  return report;
}

/** Whether one log line (an event/impression message, or a dead-letter record wrapping one) belongs to the visitors. */
function mentions(line: string, tenant: string, visitors: Set<string>): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return false;
  }
  type Shape = { tenant?: unknown; visitor_id?: unknown; lines?: unknown };
  const direct = parsed as Shape & { body?: Shape & { body?: Shape } };
  const names = (m: Shape | undefined): boolean => !!m && m.tenant === tenant && typeof m.visitor_id === "string" && visitors.has(m.visitor_id);
  for (const m of [direct, direct.body, direct.body?.body]) {
    if (names(m)) return true;
    // A dead-lettered line batch that was poison is parked whole: it goes if any of its lines is the subject's.
    if (m && Array.isArray(m.lines) && m.lines.some((l) => typeof l === "object" && l !== null && names(l as Shape))) return true;
  }
  return false;
}
