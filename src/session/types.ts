import type { TrackedEvent } from "../events/types";
import type { FeatureVector } from "../features/engine";
import type { ConsentValue, IdentityValue } from "../features/definitions/visitor";
import type { SessionContribution } from "../profile/profile";

/** Who a session belongs to; always derived from verified ids by the caller. */
export interface SessionIdentity {
  tenant: string;
  visitorId: string;
}

/** Per-event outcome of an ingest, in input order; `no_consent`: neither folded nor forwarded, nothing stored. */
export type IngestOutcome = "accepted" | "duplicate" | "no_consent" | "erased";

/** For an identified visitor: who they are and what this session contributes to their profile. */
export interface SessionIdentityInfo {
  identity: IdentityValue;
  contribution: SessionContribution;
  /** The visitor's own declaration, if any: it becomes the person's when they identify. */
  consent: ConsentValue | null;
}

/** Personalization consent was withdrawn in this batch; `identity` is who the session was before it was wiped. */
export interface SessionWithdrawal {
  identity: IdentityValue | null;
}

/** Result of `ingest`: expected outcomes are data, not exceptions. */
export type IngestResult =
  | { ok: true; outcomes: IngestOutcome[]; identified: SessionIdentityInfo | null; withdrawn: SessionWithdrawal | null }
  /** Events were applied and kept in the outbox, but the queue refused them: answer 503, a retry is safe. */
  | { ok: false; reason: "enqueue_failed"; outcomes: IngestOutcome[]; identified: SessionIdentityInfo | null; withdrawn: SessionWithdrawal | null };

/** What `GET /v1/session` shows a visitor about themselves. */
export interface SessionSnapshot {
  visitor_id: string;
  computed_at: number;
  events_applied: number;
  pending_forward: number;
  features: FeatureVector;
  recent_events: TrackedEvent[];
}
