import { type FlagRecord, type IdentifyClaim, type LinkResult, type PersonRecord, keys, link } from "../identity/graph";
import { type NodeId, personIdOf } from "../identity/identifiers";
import type { ProfileKV } from "../identity/kv";
import { SESSIONS_PER_PROFILE, type SessionContribution } from "./profile";

/** A person's consent as last declared on any identified device. */
export interface PersonConsent {
  analytics: boolean;
  personalization: boolean;
  updated_at: number;
}

/** What erasing one person removed from a store. */
export interface StoreErasure {
  person: string | null;
  /** Keys deleted (nodes, person record, flags, profile). */
  keys_deleted: number;
  /** Other identifiers' flag records this person's customer was removed from. */
  flags_edited: number;
  /** Other persons whose contested lists or merge logs named this person's identifiers. */
  persons_edited: number;
}

/** Result of a retention audit: every key must carry an expiry. */
export interface RetentionAudit {
  keys: number;
  without_expiry: string[];
}

/**
 * The identity and profile operations, written once over `ProfileKV` so the
 * Durable Object and the Upstash stores behave identically (one contract test
 * suite runs against both).
 */
export const operations = {
  link: (kv: ProfileKV, claim: IdentifyClaim): Promise<LinkResult> => link(kv, claim),

  async resolve(kv: ProfileKV, n: NodeId): Promise<string | null> {
    return (await kv.mget([keys.node(n)]))[0] ?? null;
  },

  async person(kv: ProfileKV, personId: string): Promise<PersonRecord | null> {
    const raw = (await kv.mget([keys.person(personId)]))[0];
    return raw ? (JSON.parse(raw) as PersonRecord) : null;
  },

  async flag(kv: ProfileKV, n: NodeId): Promise<string | null> {
    return (await kv.mget([keys.flag(n)]))[0] ?? null;
  },

  /** Replaces one session's contribution to a person's profile; keeps the newest sessions. */
  async fold(kv: ProfileKV, personId: string, c: SessionContribution): Promise<void> {
    const key = keys.profile(personId);
    await kv.write({ hsets: [[key, c.visitor, JSON.stringify(c)]] });
    const all = await this.contributions(kv, personId);
    if (all.length > SESSIONS_PER_PROFILE) {
      const stale = all
        .sort((a, b) => b.at - a.at)
        .slice(SESSIONS_PER_PROFILE)
        .map((x) => x.visitor);
      await kv.write({ hdels: [[key, stale]] });
    }
  },

  /** The person's latest consent (any device), or `null` when none was declared while identified. */
  async consent(kv: ProfileKV, personId: string): Promise<PersonConsent | null> {
    const raw = (await kv.mget([keys.consent(personId)]))[0];
    return raw ? (JSON.parse(raw) as PersonConsent) : null;
  },

  /** Records a consent declaration for the person; an older one never overwrites a newer. */
  async setConsent(kv: ProfileKV, personId: string, c: PersonConsent): Promise<void> {
    const current = await this.consent(kv, personId);
    if (current && current.updated_at > c.updated_at) return;
    await kv.write({ sets: [[keys.consent(personId), JSON.stringify(c)]] });
  },

  forget(kv: ProfileKV, personId: string, visitor: string): Promise<void> {
    return kv.write({ hdels: [[keys.profile(personId), [visitor]]] });
  },

  async contributions(kv: ProfileKV, personId: string): Promise<SessionContribution[]> {
    const fields = await kv.hgetall(keys.profile(personId));
    return Object.values(fields).map((raw) => JSON.parse(raw) as SessionContribution);
  },

  /**
   * Deletes a person everywhere in this store: every member node, flags naming them,
   * the record and the profile; then every trace of the person's identifiers in
   * *other* persons (the contested lists and merge logs of customers whose claims on
   * them were refused or unproven, found through the identifiers' flag records).
   * `nodes`: identifiers of the request that belong to no person (a claimed but never
   * linked email, say) — their flags and traces go too.
   */
  async erase(kv: ProfileKV, personId: string | null, nodes: NodeId[] = []): Promise<StoreErasure> {
    const record = personId ? await this.person(kv, personId) : null;
    const members = [...new Set([...(record?.members ?? []), ...nodes])];
    const doomed = new Set<string>();
    if (personId) for (const k of [keys.person(personId), keys.profile(personId), keys.consent(personId)]) doomed.add(k);
    for (const m of members) {
      if (record?.members.includes(m)) doomed.add(keys.node(m));
      doomed.add(keys.flag(m));
    }
    const present = await kv.mget([...doomed].filter((k) => !k.startsWith("pr:")));
    const profileFields = personId ? Object.keys(await kv.hgetall(keys.profile(personId))).length : 0;
    const count = present.filter((x) => x !== null).length + (profileFields > 0 ? 1 : 0);
    const sets: Array<[string, string]> = [];
    // Flags on identifiers other customers own still name this person's customer: take it out of them.
    const contested = (record?.contested ?? []).filter((n) => !record!.members.includes(n));
    const flags = await kv.mget(contested.map(keys.flag));
    let flagsEdited = 0;
    contested.forEach((n, i) => {
      if (!flags[i] || !record?.customer) return;
      const flag = JSON.parse(flags[i]!) as FlagRecord;
      const claims = flag.claims.filter((c) => c !== record.customer);
      const unproven = (flag.unproven ?? []).filter((c) => c !== record.customer);
      if (claims.length === flag.claims.length && unproven.length === (flag.unproven ?? []).length) return;
      flagsEdited++;
      if (claims.length <= 1 && unproven.length === 0) doomed.add(keys.flag(n));
      else sets.push([keys.flag(n), JSON.stringify({ ...flag, claims, unproven })]);
    });
    // The other way round: customers who claimed this person's identifiers keep them in their own records.
    const ownFlags = await kv.mget(members.map(keys.flag));
    const claimants = new Set<NodeId>();
    for (const raw of ownFlags) {
      if (!raw) continue;
      const flag = JSON.parse(raw) as FlagRecord;
      for (const c of [...flag.claims, ...(flag.unproven ?? [])]) if (c !== record?.customer) claimants.add(c);
    }
    const others = [...claimants].map((c) => personIdOf(c.slice(2))).filter((p) => p !== personId);
    const otherRecords = await kv.mget(others.map(keys.person));
    const gone = new Set<string>(members);
    let personsEdited = 0;
    otherRecords.forEach((raw) => {
      if (!raw) return;
      const other = JSON.parse(raw) as PersonRecord;
      const merges = other.merges.map((m) => ({ ...m, nodes: m.nodes.filter((n) => !gone.has(n)) })).filter((m) => m.nodes.length > 0 || m.action === "merged");
      const stripped: PersonRecord = { ...other, merges, ...(other.contested ? { contested: other.contested.filter((n) => !gone.has(n)) } : {}) };
      if (JSON.stringify(stripped) === raw) return;
      personsEdited++;
      sets.push([keys.person(other.id), JSON.stringify(stripped)]);
    });
    await kv.write({ sets, dels: [...doomed] });
    return { person: record ? personId : null, keys_deleted: count, flags_edited: flagsEdited, persons_edited: personsEdited };
  },

  async audit(kv: ProfileKV): Promise<RetentionAudit> {
    const all = await kv.scan("");
    const without: string[] = [];
    for (const key of all) if ((await kv.ttl(key)) === null) without.push(key);
    return { keys: all.length, without_expiry: without };
  },
};
