import type { EventMessage } from "../../contracts/queue";
import { markerSubject } from "../../privacy/marker";

/** Erasure markers: keyed hash of (tenant, visitor) → erased_at (written by the worker, src/privacy/tombstones.ts). */
export type ErasureMarkers = Map<string, number>;

/**
 * Drops the events of erased visitors that were received before their erasure.
 * The worker purges its own log; this keeps copies taken before the purge (and
 * every training set built from them) honest. `hash` is HMAC-SHA256 hex under
 * PII_SECRET, the same keyed hash the worker names markers with.
 */
export async function honourTombstones(lines: EventMessage[], markers: ErasureMarkers, hash: (data: string) => Promise<string>): Promise<EventMessage[]> {
  if (markers.size === 0) return lines;
  const hashes = new Map<string, string>();
  const kept: EventMessage[] = [];
  for (const m of lines) {
    const id = `${m.tenant}\u0000${m.visitor_id}`;
    let h = hashes.get(id);
    if (h === undefined) hashes.set(id, (h = await hash(markerSubject(m.tenant, m.visitor_id))));
    const erasedAt = markers.get(h);
    if (erasedAt === undefined || m.received_at > erasedAt) kept.push(m);
  }
  return kept;
}
