import { defineFeature } from "../definition";

/** Consent as last declared by the visitor. */
export interface ConsentValue {
  analytics: boolean;
  personalization: boolean;
  updated_at: number;
}

/**
 * The latest consent declaration (by event time). The API stamps consent events with the time
 * it received them (src/events/route.ts), so this is the last one received: a client clock
 * running hours ahead cannot outvote a later withdrawal.
 */
export const consentState = defineFeature({
  name: "consent",
  version: 1,
  entity: "visitor",
  description: "Consent purposes from the latest consent event (by event time); null when never declared.",
  sources: ["consent"],
  aggregation: "last",
  window: "lifetime",
  ttl: "30d",
  init: (): ConsentValue | null => null,
  reduce(state, event) {
    if (event.type !== "consent" || (state && state.updated_at > event.timestamp)) return state;
    return { analytics: event.properties.analytics, personalization: event.properties.personalization, updated_at: event.timestamp };
  },
  value: (state) => state,
});

/** Whether the visitor identified, and as whom (pseudonymised). */
export interface IdentityValue {
  /** `null` after an email-only identify (guest checkout). */
  customer_hash: string | null;
  email_hash: string | null;
  identified_at: number;
}

/** The latest identify event (by event time); the customer id is a keyed HMAC. */
export const identity = defineFeature({
  name: "identity",
  version: 2,
  entity: "visitor",
  description: "Pseudonymised customer id and email of the latest identify event; null when anonymous.",
  sources: ["identify"],
  aggregation: "last",
  window: "lifetime",
  ttl: "30d",
  init: (): IdentityValue | null => null,
  reduce(state, event) {
    if (event.type !== "identify" || (state && state.identified_at > event.timestamp)) return state;
    return { customer_hash: event.properties.customer_hash ?? null, email_hash: event.properties.email_hash ?? null, identified_at: event.timestamp };
  },
  value: (state) => state,
});
