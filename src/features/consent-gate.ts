import type { TrackedEvent } from "../contracts/events";
import { type ConsentContext, type Purposes, effectivePurposes } from "../privacy/consent";
import type { ConsentValue, IdentityValue } from "../contracts/values";
import { type EngineOptions, type FeatureState, applyEvent, initialState } from "./engine";

/** What the consent gate decided for one event. */
export interface GateResult {
  state: FeatureState;
  /** Neither purpose: the event must not be stored at all. */
  refused: boolean;
  /** Folded into the features (and the history). */
  folded: boolean;
  /** Forwarded to the central log. */
  forwarded: boolean;
  /** Personalization was withdrawn by this event: the state was wiped; `identity` is who the visitor was. */
  withdrawal: { identity: IdentityValue | null } | null;
  /** The purposes in force after this event. */
  purposes: Purposes;
}

/** The visitor's latest consent declaration in a feature state. */
export function declaredConsent(state: FeatureState): ConsentValue | null {
  return (state.slots.consent?.s as ConsentValue | null | undefined) ?? null;
}

/**
 * Applies one event under consent — the single rule shared by the SessionDO and
 * the offline replay, so both compute the same features. A consent event is
 * always kept and forwarded (it is the record); withdrawing personalization wipes
 * the state first. Any other event is folded only with `personalization` and
 * forwarded only with `analytics`; with neither it is refused.
 */
export function applyWithConsent(state: FeatureState, event: TrackedEvent, opts: EngineOptions, ctx: ConsentContext): GateResult {
  const before = effectivePurposes(declaredConsent(state), ctx);
  if (event.type === "consent") {
    let withdrawal: GateResult["withdrawal"] = null;
    let next = state;
    if (before.personalization && !event.properties.personalization) {
      withdrawal = { identity: (state.slots.identity?.s as IdentityValue | null | undefined) ?? null };
      next = initialState();
    }
    next = applyEvent(next, event, opts);
    const purposes = effectivePurposes(declaredConsent(next), ctx);
    return { state: next, refused: false, folded: purposes.personalization, forwarded: true, withdrawal, purposes };
  }
  if (!before.personalization && !before.analytics) return { state, refused: true, folded: false, forwarded: false, withdrawal: null, purposes: before };
  const next = before.personalization ? applyEvent(state, event, opts) : state;
  return { state: next, refused: false, folded: before.personalization, forwarded: before.analytics, withdrawal: null, purposes: before };
}

/**
 * The context the offline replay applies: an event in the log was forwarded, so
 * without a declaration the tenant was `opt-out`; requests with `Sec-GPC` never
 * reached the log.
 */
export const LOG_REPLAY_CONTEXT: ConsentContext = { mode: "opt-out", gpc: false };
