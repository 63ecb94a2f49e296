import type { IdentityValue } from "../contracts/values";
import type { Logger } from "../http/log";
import { personOf } from "../identity/service";
import type { PersonConsent } from "../profile/operations";
import { type ProfileView, profileView } from "../profile/profile";
import type { ProfileStore } from "../profile/store";

/** What a recommendation knows of the person behind the visitor, read once per request. */
export type PersonContext =
  | { found: false }
  | { found: true; consent: PersonConsent | null; view: ProfileView | null }
  /** The store failed or ran out of its budget: served from the session alone, `profile_unavailable`. */
  | { found: false; failed: true };

/**
 * The person behind an identity (the customer token's, else the session's) with their
 * consent and profile, in one resolution and one parallel read — within the profile
 * store's budget. The view leaves out this device's own contribution (the session
 * already has it) and is `null` when the person withdrew personalization anywhere.
 */
export async function readPerson(
  store: Pick<ProfileStore, "resolve" | "consent" | "contributions" | "backend">,
  tenant: string,
  identity: Pick<IdentityValue, "customer_hash" | "email_hash">,
  visitorId: string,
  now: number,
  log: Logger,
): Promise<PersonContext> {
  try {
    const person = await personOf(store, tenant, identity);
    if (!person) return { found: false };
    const [contributions, consent] = await Promise.all([store.contributions(tenant, person), store.consent(tenant, person)]);
    const withdrawn = consent !== null && !consent.personalization;
    const view = withdrawn ? null : profileView(person, contributions, now, visitorId);
    return { found: true, consent, view: view && view.sessions > 0 ? view : null };
  } catch (err) {
    log.warn("profile_unavailable", { backend: store.backend, error: err instanceof Error ? err.message : String(err) });
    return { found: false, failed: true };
  }
}
