import type { Config } from "../config";
import { node, type NodeId } from "../identity/identifiers";
import { kindOf } from "../identity/identifiers";
import { customerHash, deviceHash, emailHash } from "./pseudonymise";
import { profileStore } from "../profile/select";
import { sessionStub } from "../session/stub";
import { markerKey, receiptKey, tombstone } from "./tombstones";

/** Identifier kinds a data-subject request may name. */
export type SubjectKind = "customer" | "email" | "device" | "visitor";

/** A parsed subject: `customer:<id>`, `email:<address>`, `device:<id>` or `visitor:<id or token>`. */
export interface Subject {
  kind: SubjectKind;
  value: string;
}

/** What each store did; returned to the caller and kept (without identifiers) as the receipt. */
export interface ErasureReceipt {
  erasure_id: string;
  tenant: string;
  subject: { kind: SubjectKind };
  requested_at: number;
  /** `false` when no store knew the subject (nothing to erase; still a valid answer). */
  found: boolean;
  stores: {
    /** Per store: whether it held anything of the subject, and what it removed. */
    sessions: { found: boolean; visitors: number; sessions_found: number; rows_deleted: number; erased_at: number };
    profile_store: { found: boolean; backend: string; keys_deleted: number; flags_edited: number; persons_edited: number; erased_at: number };
    mlops_monitor: { found: boolean; rows_deleted: number; erased_at: number };
    in_flight: { markers: number; policy: string };
    event_log: { status: "scheduled" | "done" | "nothing_to_purge"; purge_after?: number };
  };
  completed_at?: number;
  beyond_our_control: string[];
}

/** What the platform keeps regardless, stated in every receipt. */
export const PLATFORM_RETENTION = [
  "Durable Objects (SQLite) keep point-in-time recovery snapshots for 30 days; erased rows exist only there until they age out.",
  "Cloudflare Queues keep undelivered messages up to 14 days; messages of erased visitors are dropped when delivered.",
  "Copies of the event log exported outside this worker (downloads, warehouses) must honour the tombstones under erasures/ (the replay does).",
];

const VISITOR_ID = /^[A-Za-z0-9_-]{22}$/;
const VISITOR_TOKEN = /^v1\.([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$/;

/** Parses `kind:value`; `null` when malformed. */
export function parseSubject(raw: string): Subject | null {
  const i = raw.indexOf(":");
  if (i <= 0) return null;
  const kind = raw.slice(0, i) as SubjectKind;
  const value = raw.slice(i + 1);
  if (!["customer", "email", "device", "visitor"].includes(kind) || value.length === 0 || value.length > 320) return null;
  if (kind === "visitor") {
    const id = VISITOR_TOKEN.exec(value)?.[1] ?? (VISITOR_ID.test(value) ? value : null);
    return id ? { kind, value: id } : null;
  }
  return { kind, value };
}

/** The graph node of a subject (hashed exactly as identify hashes it). */
export async function subjectNode(s: Subject, tenant: string, secret: string): Promise<NodeId> {
  switch (s.kind) {
    case "customer":
      return node("customer", await customerHash(secret, tenant, s.value));
    case "email":
      return node("email", await emailHash(secret, tenant, s.value));
    case "device":
      return node("device", await deviceHash(secret, tenant, s.value));
    case "visitor":
      return node("visitor", s.value);
  }
}

/**
 * Erases a person everywhere, found by any linked identifier: erasure markers
 * first (late queue messages are dropped from then on), every session DO, the
 * MLOps monitor's per-visitor rows, a tombstone through the queue that purges
 * the R2 log, and the identity graph and profile last — so a failed call can be
 * retried and still finds everything. Idempotent.
 */
export async function eraseSubject(env: Env, config: Config, tenant: string, subject: Subject, purgeDelayS: number): Promise<ErasureReceipt> {
  const requestedAt = Date.now();
  const erasureId = crypto.randomUUID();
  const store = profileStore(env, config);
  const n = await subjectNode(subject, tenant, config.piiSecret);
  const person = await store.resolve(tenant, n);
  const record = person ? await store.person(tenant, person) : null;
  // Devices the person used that the over-merge guard kept with another customer (a shared laptop)
  // hold this person's events too: their sessions are erased with the rest.
  const visitors = new Set([...(record?.members ?? []), ...(record?.contested ?? [])].filter((m) => kindOf(m) === "visitor").map((m) => m.slice(2)));
  if (subject.kind === "visitor") visitors.add(subject.value);
  const ids = [...visitors];

  for (const v of ids) {
    // erased_at in metadata (a HEAD is enough for the consumer) and in the body (survives an export).
    await env.EVENT_LOG.put(await markerKey(config.piiSecret, tenant, v), JSON.stringify({ erased_at: requestedAt, erasure_id: erasureId }), {
      customMetadata: { erased_at: String(requestedAt), erasure_id: erasureId },
      httpMetadata: { contentType: "application/json" },
    });
  }
  let rows = 0;
  let sessionsFound = 0;
  for (const v of ids) {
    const erased = (await sessionStub(env, tenant, v).erase()).rows_deleted;
    rows += erased;
    if (erased > 0) sessionsFound++;
  }
  const monitor = ids.length > 0 ? await env.MONITOR.getByName(tenant).eraseVisitors(ids) : { rows_deleted: 0 };
  const purgeAfter = requestedAt + purgeDelayS * 1000;
  if (ids.length > 0) await env.EVENTS.send(tombstone(tenant, erasureId, ids, requestedAt), { contentType: "json", delaySeconds: purgeDelayS });
  const erased = await store.erase(tenant, person, [n]);
  const profileFound = erased.keys_deleted > 0 || erased.flags_edited > 0 || erased.persons_edited > 0;
  const now = Date.now();
  const receipt: ErasureReceipt = {
    erasure_id: erasureId,
    tenant,
    subject: { kind: subject.kind },
    requested_at: requestedAt,
    found: person !== null || rows > 0 || profileFound || monitor.rows_deleted > 0,
    stores: {
      sessions: { found: sessionsFound > 0, visitors: ids.length, sessions_found: sessionsFound, rows_deleted: rows, erased_at: now },
      profile_store: {
        found: profileFound,
        backend: store.backend,
        keys_deleted: erased.keys_deleted,
        flags_edited: erased.flags_edited,
        persons_edited: erased.persons_edited,
        erased_at: now,
      },
      mlops_monitor: { found: monitor.rows_deleted > 0, rows_deleted: monitor.rows_deleted, erased_at: now },
      in_flight: { markers: ids.length, policy: "queue messages of these visitors received before requested_at are dropped on delivery" },
      event_log: ids.length > 0 ? { status: "scheduled", purge_after: purgeAfter } : { status: "nothing_to_purge" },
    },
    beyond_our_control: PLATFORM_RETENTION,
  };
  // The receipt names no identifier: it can be kept as proof without keeping the person.
  await env.EVENT_LOG.put(receiptKey(tenant, erasureId), JSON.stringify(receipt), { httpMetadata: { contentType: "application/json" } });
  return receipt;
}
