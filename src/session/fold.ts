import { EVENT_SCHEMA_VERSION, type TrackedEvent, isOutcomeType } from "../contracts/events";
import type { EventMessage } from "../contracts/queue";
import { applyWithConsent } from "../features/consent-gate";
import type { EngineOptions, FeatureState } from "../features/engine";
import type { ConsentContext } from "../privacy/consent";
import { type StoredImpression, attribute } from "./attribution";
import type { IngestOutcome, SessionIdentity, SessionWithdrawal } from "./types";

/** What one batch fold needs to know of the session before it. */
export interface FoldInput {
  who: SessionIdentity;
  state: FeatureState;
  /** The seq the first applied event gets. */
  nextSeq: number;
  receivedAt: number;
  events: TrackedEvent[];
  /** Event ids already applied (the dedup index, read for this batch's ids). */
  seen: ReadonlySet<string>;
  consent: ConsentContext;
  engine: EngineOptions;
  /** The served lists events may be attributed to; read only when an event needs them. */
  impressions: () => StoredImpression[];
}

/** Everything a batch changes, for the caller to write in one transaction. */
export interface FoldResult {
  outcomes: IngestOutcome[];
  state: FeatureState;
  nextSeq: number;
  /** Personalization was withdrawn: history and served lists are wiped before `historyRows` are written. */
  withdrawn: SessionWithdrawal | null;
  seenRows: Array<[eventId: string, seq: number]>;
  historyRows: Array<[seq: number, event: string]>;
  /** Event-log lines to forward (serialised `EventMessage`s), and the seq of each. */
  lines: string[];
  lineSeqs: number[];
}

/**
 * Folds one batch of events into a session: dedup by id, the consent gate
 * (shared with the offline replay), the feature reducers, attribution to served
 * lists, and the rows and log lines that result. Pure — no storage, no clock —
 * so it is tested without a Durable Object; the SessionDO writes what it returns.
 */
export function foldBatch(input: FoldInput): FoldResult {
  const { who, receivedAt } = input;
  let state = input.state;
  let seq = input.nextSeq;
  const seen = new Set(input.seen);
  let impressions: StoredImpression[] | null = null;
  let withdrawn: SessionWithdrawal | null = null;
  const seenRows: FoldResult["seenRows"] = [];
  let historyRows: FoldResult["historyRows"] = [];
  const lines: string[] = [];
  const lineSeqs: number[] = [];
  const outcomes = input.events.map((event): IngestOutcome => {
    if (seen.has(event.id)) return "duplicate";
    const gate = applyWithConsent(state, event, input.engine, input.consent);
    if (gate.refused) return "no_consent";
    if (gate.withdrawal && !withdrawn) {
      // Withdrawal takes effect at once: the visitor's history and served lists go with the features.
      withdrawn = gate.withdrawal;
      historyRows = [];
      impressions = [];
    }
    seen.add(event.id);
    state = gate.state;
    const message: EventMessage = { kind: "event", schema_version: EVENT_SCHEMA_VERSION, tenant: who.tenant, visitor_id: who.visitorId, seq, received_at: receivedAt, event };
    // Only outcomes are attributed; other events need no served lists read.
    if (isOutcomeType(event.type)) {
      const attribution = attribute(event, (impressions ??= input.impressions()));
      if (attribution.length > 0) message.attribution = attribution;
    }
    seenRows.push([event.id, seq]);
    if (gate.folded) historyRows.push([seq, JSON.stringify(event)]);
    if (gate.forwarded) {
      lines.push(JSON.stringify(message));
      lineSeqs.push(seq);
    }
    seq++;
    return "accepted";
  });
  return { outcomes, state, nextSeq: seq, withdrawn, seenRows, historyRows, lines, lineSeqs };
}
