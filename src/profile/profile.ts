import type { FeatureVector } from "../features/engine";

/** Long-term affinity decays with this half-life: last season's taste fades, it does not vanish. */
export const PROFILE_HALF_LIFE_MS = 30 * 24 * 3600 * 1000;
/** Sessions kept per person (newest win). */
export const SESSIONS_PER_PROFILE = 20;
const RECENT_VIEWED = 20;
const PURCHASED = 200;
const TOP_CATEGORIES = 10;

/** What one visitor session contributed to a person's profile, as of `at`. Folding again replaces it. */
export interface SessionContribution {
  visitor: string;
  at: number;
  /** Category scores of the session at `at`. */
  affinity: Array<{ category: string; score: number }>;
  /** Last viewed item ids, oldest first. */
  viewed: string[];
  purchased: string[];
}

/** A person's long-term profile as the recommender reads it. */
export interface ProfileView {
  person: string;
  sessions: number;
  updated_at: number;
  category_affinity: Array<{ category: string; score: number }>;
  /** Most recent views across the person's sessions, oldest first. */
  recent_viewed: string[];
  purchased: string[];
}

/** Builds a session's contribution from its materialised features. */
export function contributionOf(visitor: string, features: FeatureVector, at: number): SessionContribution {
  const affinity = Array.isArray(features.category_affinity) ? features.category_affinity.map((c) => ({ category: c.category, score: c.score })) : [];
  return { visitor, at, affinity, viewed: strings(features.last_viewed_items), purchased: strings(features.purchased_items) };
}

/**
 * Combines stored contributions into the profile at `now`: decayed affinity, recent
 * views, every purchase. `exceptVisitor` leaves out the calling device's own
 * contribution, whose live session state the recommender already has.
 */
export function profileView(person: string, contributions: SessionContribution[], now: number, exceptVisitor?: string): ProfileView {
  const sorted = contributions.filter((c) => c.visitor !== exceptVisitor).sort((a, b) => a.at - b.at);
  const scores = new Map<string, number>();
  for (const c of sorted) {
    const f = 2 ** (-Math.max(0, now - c.at) / PROFILE_HALF_LIFE_MS);
    for (const { category, score } of c.affinity) scores.set(category, (scores.get(category) ?? 0) + score * f);
  }
  const viewed = sorted.flatMap((c) => c.viewed).slice(-RECENT_VIEWED);
  const purchased = [...new Set(sorted.flatMap((c) => c.purchased))].slice(-PURCHASED);
  return {
    person,
    sessions: sorted.length,
    updated_at: sorted.at(-1)?.at ?? 0,
    category_affinity: [...scores]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, TOP_CATEGORIES)
      .map(([category, score]) => ({ category, score: Math.round(score * 1e4) / 1e4 })),
    recent_viewed: viewed,
    purchased,
  };
}

/** A session's features with what the person's profile adds: their long-term category affinity. */
export type ProfiledFeatures = FeatureVector & { long_term_affinity?: Array<{ category: string; score: number }> };

/**
 * The features the recommender sees for an identified visitor: the session's own
 * values first, the profile filling in what this device has not seen — so a
 * customer on a new device is recommended from their history at once.
 */
export function withProfile(features: FeatureVector | null, profile: ProfileView): ProfiledFeatures {
  const f = features ?? {};
  const sessionViewed = strings(f.last_viewed_items);
  return {
    ...f,
    last_viewed_items: [...profile.recent_viewed, ...sessionViewed].slice(-RECENT_VIEWED),
    purchased_items: [...new Set([...profile.purchased, ...strings(f.purchased_items)])],
    long_term_affinity: profile.category_affinity,
  };
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((x): x is string => typeof x === "string") : [];
}
