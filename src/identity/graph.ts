import type { ProfileKV } from "./kv";
import { type NodeId, kindOf, personIdOf } from "./identifiers";

/** Most members one person may have; a merge that would pass it is refused and flagged. */
export const MAX_MEMBERS = 200;
/** Merge-log entries kept per person (newest last). */
const MERGE_LOG_LIMIT = 50;

/** One recorded merge or refusal. */
export interface MergeLogEntry {
  at: number;
  /** The identify event that caused it. */
  event_id: string;
  action: "created" | "linked" | "merged" | "refused";
  /** Person ids folded into this one (for `merged`). */
  from?: string[];
  /** Identifiers added, or refused (for `refused`). */
  nodes: NodeId[];
  reason?: "claimed_by_other_customer" | "too_many_members" | "unproven";
}

/** A person: the connected component of identifiers that belong together. */
export interface PersonRecord {
  id: string;
  /** The customer node, once a customer id joined; `null` for a person known only by email so far. */
  customer: NodeId | null;
  members: NodeId[];
  created_at: number;
  updated_at: number;
  merges: MergeLogEntry[];
  /** PII key generation of the hashed members (rotation re-hashes persons with an older one). */
  key_id?: string;
  /** Identifiers this person claimed but another customer owns (their flag records name this person's customer). */
  contested?: NodeId[];
}

/** An identifier claimed by more than one customer: kept with its first owner, never merged again. */
export interface FlagRecord {
  node: NodeId;
  /** The customer nodes that claimed it, the first one owning it (empty when only unproven claims were made). */
  claims: NodeId[];
  /** Customers whose token named it without the shop vouching for it: recorded, never linked. */
  unproven?: NodeId[];
  first_at: number;
  last_at: number;
}

/** An authenticated identify: a customer and/or an email, and the identifiers seen with them. */
export interface IdentifyClaim {
  customer: NodeId | null;
  email: NodeId | null;
  /** Visitor and device nodes asserted together with the customer or email. */
  others: NodeId[];
  /** Identifiers the caller named but did not prove: recorded on their flag record, never linked. */
  unproven?: NodeId[];
  at: number;
  event_id: string;
  key_id?: string;
}

/** What `link` did; refusals are data, not exceptions. */
export interface LinkResult {
  person: string;
  created: boolean;
  /** Person ids merged into `person`. */
  merged: string[];
  /** Identifiers not linked because another customer owns them (over-merge guard). */
  flagged: NodeId[];
}

/** Key layout inside one tenant's namespace. */
export const keys = {
  node: (n: NodeId) => `n:${n}`,
  person: (p: string) => `p:${p}`,
  flag: (n: NodeId) => `f:${n}`,
  profile: (p: string) => `pr:${p}`,
  consent: (p: string) => `cs:${p}`,
};

/**
 * Links the identifiers of one authenticated identify into a person, with
 * union-find semantics: components that share an identifier become one person
 * and the merge is logged. Customer ids are authoritative — a component holds at
 * most one — so an identifier already owned by another customer (a shared
 * laptop, a family email) is flagged and left where it is instead of merging two
 * customers. The canonical id derives from the customer node (or, before any
 * customer id is known, from the email), so it does not depend on merge order.
 * The caller serialises calls per tenant (the DO by construction, Upstash by a lock).
 */
export async function link(kv: ProfileKV, claim: IdentifyClaim): Promise<LinkResult> {
  const anchor = claim.customer ?? claim.email;
  if (!anchor || (claim.customer && kindOf(claim.customer) !== "customer") || (claim.email && kindOf(claim.email) !== "email")) {
    throw new TypeError("a claim needs a customer node or an email node");
  }
  const nodes = [...new Set([anchor, ...(claim.email ? [claim.email] : []), ...claim.others])];
  const owners = await kv.mget(nodes.map(keys.node));
  const ownerIds = [...new Set(owners.filter((x): x is string => x !== null))];
  const records = new Map<string, PersonRecord>();
  const loaded = await kv.mget(ownerIds.map(keys.person));
  ownerIds.forEach((id, i) => {
    const raw = loaded[i];
    if (raw) records.set(id, JSON.parse(raw) as PersonRecord);
  });

  // The customer this identify speaks for: its own, or — for an email-only identify —
  // the customer already owning the email.
  const emailOwner = claim.email ? records.get(owners[nodes.indexOf(claim.email)] ?? "") : undefined;
  const customer = claim.customer ?? emailOwner?.customer ?? null;
  const personId = customer ? personIdOf(customer.slice(2)) : (emailOwner?.id ?? personIdOf(claim.email!.slice(2)));
  const existing = records.get(personId);
  const target: PersonRecord = existing ?? {
    id: personId,
    customer,
    members: [],
    created_at: claim.at,
    updated_at: claim.at,
    merges: [],
  };
  const log: MergeLogEntry[] = [];
  if (!existing) log.push({ at: claim.at, event_id: claim.event_id, action: "created", nodes: [anchor] });

  const flagged: NodeId[] = [];
  const mergeFrom: PersonRecord[] = [];
  const added: NodeId[] = [];
  nodes.forEach((n, i) => {
    const owner = owners[i] ? records.get(owners[i]!) : undefined;
    if (owner?.id === personId) return;
    if (owner && owner.customer !== null && owner.customer !== customer) {
      flagged.push(n); // owned by another customer: the over-merge guard
      return;
    }
    if (owner) {
      if (!mergeFrom.includes(owner)) mergeFrom.push(owner);
    } else if (!target.members.includes(n)) added.push(n);
  });
  const incoming = mergeFrom.flatMap((r) => r.members).filter((m) => !target.members.includes(m) && !added.includes(m));
  const members = [...target.members, ...added, ...incoming];
  const sets: Array<[string, string]> = [];
  const dels: string[] = [];
  const moves: Array<[string, string]> = [];

  if (members.length > MAX_MEMBERS) {
    log.push({ at: claim.at, event_id: claim.event_id, action: "refused", nodes: [...added, ...incoming], reason: "too_many_members" });
  } else {
    if (mergeFrom.length > 0) log.push({ at: claim.at, event_id: claim.event_id, action: "merged", from: mergeFrom.map((r) => r.id), nodes: incoming });
    const linked = added.filter((n) => n !== anchor || existing);
    if (linked.length > 0) log.push({ at: claim.at, event_id: claim.event_id, action: "linked", nodes: linked });
    target.members = members;
    for (const m of [...added, ...incoming]) sets.push([keys.node(m), personId]);
    for (const r of mergeFrom) {
      dels.push(keys.person(r.id));
      moves.push([keys.profile(r.id), keys.profile(personId)]);
      target.created_at = Math.min(target.created_at, r.created_at);
    }
  }
  if (flagged.length > 0) {
    log.push({ at: claim.at, event_id: claim.event_id, action: "refused", nodes: flagged, reason: "claimed_by_other_customer" });
    target.contested = [...new Set([...(target.contested ?? []), ...flagged])].slice(-MAX_MEMBERS);
    const flags = await kv.mget(flagged.map(keys.flag));
    flagged.forEach((n, i) => {
      const prev = flags[i] ? (JSON.parse(flags[i]!) as FlagRecord) : null;
      const first = records.get(owners[nodes.indexOf(n)]!)!.customer!;
      const claims = [...new Set([...(prev?.claims?.length ? prev.claims : [first]), ...(customer ? [customer] : [])])];
      sets.push([keys.flag(n), JSON.stringify({ ...prev, node: n, claims, first_at: prev?.first_at ?? claim.at, last_at: claim.at } satisfies FlagRecord)]);
    });
  }
  const unproven = (claim.unproven ?? []).filter((n) => !nodes.includes(n) && !target.members.includes(n));
  if (unproven.length > 0 && customer) {
    log.push({ at: claim.at, event_id: claim.event_id, action: "refused", nodes: unproven, reason: "unproven" });
    const flags = await kv.mget(unproven.map(keys.flag));
    unproven.forEach((n, i) => {
      const prev = flags[i] ? (JSON.parse(flags[i]!) as FlagRecord) : null;
      const record: FlagRecord = {
        node: n,
        claims: prev?.claims ?? [],
        unproven: [...new Set([...(prev?.unproven ?? []), customer])].slice(-MAX_MEMBERS),
        first_at: prev?.first_at ?? claim.at,
        last_at: claim.at,
      };
      sets.push([keys.flag(n), JSON.stringify(record)]);
    });
  }
  target.updated_at = Math.max(target.updated_at, claim.at);
  if (claim.key_id) target.key_id = claim.key_id;
  target.merges = [...target.merges, ...log].slice(-MERGE_LOG_LIMIT);
  sets.push([keys.person(personId), JSON.stringify(target)]);
  await kv.write({ sets, dels, moveHashes: moves });
  return { person: personId, created: !existing, merged: mergeFrom.map((r) => r.id), flagged };
}

/** A flag record, or `null` when the identifier was never contested. */
export async function flag(kv: ProfileKV, n: NodeId): Promise<FlagRecord | null> {
  const raw = (await kv.mget([keys.flag(n)]))[0];
  return raw ? (JSON.parse(raw) as FlagRecord) : null;
}

/** The person an identifier belongs to, or `null`. */
export async function resolve(kv: ProfileKV, n: NodeId): Promise<string | null> {
  return (await kv.mget([keys.node(n)]))[0] ?? null;
}

/** A person's record, or `null`. */
export async function person(kv: ProfileKV, personId: string): Promise<PersonRecord | null> {
  const raw = (await kv.mget([keys.person(personId)]))[0];
  return raw ? (JSON.parse(raw) as PersonRecord) : null;
}
