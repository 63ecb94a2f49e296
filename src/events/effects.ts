import type { IdentityValue } from "../contracts/values";
import type { Logger } from "../http/log";
import { linkIdentify, personOf } from "../identity/service";
import type { PersonConsent } from "../profile/operations";
import type { ProfileStore } from "../profile/store";
import type { SessionIdentityInfo, SessionWithdrawal } from "../session/types";
import type { TrackedEvent } from "../contracts/events";

/**
 * What an applied batch changes beyond the visitor's session — in the identity graph
 * and the person's profile — decided from the events and the session's outcome alone.
 */
export interface EventEffects {
  /** Personalization was withdrawn: this device's contribution leaves the person's profile. */
  forgetDevice: IdentityValue | null;
  /** A consent declared by an identified visitor becomes the person's, on every device. */
  personConsent: { identity: IdentityValue; value: PersonConsent } | null;
  /** Identify events (applied now, or duplicates of a batch whose linking failed) join the graph. */
  link: Array<TrackedEvent & { type: "identify" }>;
  /** The session's contribution to the person's profile; `awaited` after an identify. */
  fold: { info: SessionIdentityInfo; awaited: boolean } | null;
}

/** Decides the effects of a batch (pure). */
export function planEffects(events: readonly TrackedEvent[], identified: SessionIdentityInfo | null, withdrawn: SessionWithdrawal | null): EventEffects {
  const declared = events.filter((e): e is TrackedEvent & { type: "consent" } => e.type === "consent");
  const link = events.filter((e): e is TrackedEvent & { type: "identify" } => e.type === "identify");
  const who = identified?.identity ?? withdrawn?.identity ?? null;
  let personConsent: EventEffects["personConsent"] = null;
  if (who && (declared.length > 0 || (identified?.consent && link.length > 0))) {
    const latest = declared.at(-1); // stamped with the receipt time: the last one applied is the newest
    const value = latest ? { analytics: latest.properties.analytics, personalization: latest.properties.personalization, updated_at: latest.timestamp } : identified!.consent!;
    personConsent = { identity: who, value };
  }
  return {
    forgetDevice: withdrawn?.identity ?? null,
    personConsent,
    link,
    // After an identify the profile must be current before we answer (the next call may come from
    // another device); otherwise a lost fold is repaired by the next one, which carries the whole session.
    fold: identified ? { info: identified, awaited: link.length > 0 } : null,
  };
}

/** Where the effects land, and what they need. */
export interface EffectContext {
  store: ProfileStore;
  tenant: string;
  visitorId: string;
  log: Logger;
  timed<T>(name: string, fn: () => Promise<T>): Promise<T>;
  waitUntil(p: Promise<unknown>): void;
}

/** A store the batch needs could not take its part: the batch is idempotent, the client retries it. */
export class EffectUnavailableError extends Error {
  override readonly name = "EffectUnavailableError";
  readonly code = "identity_unavailable";
}

/**
 * Applies a batch's effects, in one place and this order: forget the device, record
 * the person's consent, link identities, fold the profile. Linking and the person's
 * consent must land (else `EffectUnavailableError`, the client retries the batch);
 * forgetting and folding are repaired later and only logged.
 */
export async function applyEffects(effects: EventEffects, ctx: EffectContext): Promise<void> {
  const { store, tenant, log } = ctx;
  if (effects.forgetDevice) await ctx.timed("profile", () => forgetDevice(ctx, effects.forgetDevice!));
  if (effects.personConsent) await ctx.timed("profile", () => recordPersonConsent(ctx, effects.personConsent!.identity, effects.personConsent!.value));
  if (effects.link.length > 0) {
    await ctx.timed("identity", async () => {
      for (const event of effects.link) {
        try {
          const linked = await linkIdentify(store, tenant, ctx.visitorId, event);
          log.info("identity_linked", { created: linked.created, merged: linked.merged.length, flagged: linked.flagged.length });
        } catch (err) {
          log.warn("identity_unavailable", { error: describe(err) });
          throw new EffectUnavailableError("The identity store is unavailable; retry the same batch (it is idempotent)");
        }
      }
    });
  }
  if (effects.fold) {
    const fold = foldProfile(ctx, effects.fold.info);
    if (effects.fold.awaited) await fold;
    else ctx.waitUntil(fold);
  }
}

async function recordPersonConsent(ctx: EffectContext, identity: IdentityValue, value: PersonConsent): Promise<void> {
  const { store, tenant } = ctx;
  try {
    const person = await personOf(store, tenant, identity);
    if (!person) return;
    await store.setConsent(tenant, person, value);
    // Withdrawn for the person: no device's history may keep shaping the profile.
    if (!value.personalization) for (const x of await store.contributions(tenant, person)) await store.forget(tenant, person, x.visitor);
  } catch (err) {
    ctx.log.error("person_consent_failed", { error: describe(err) });
    throw new EffectUnavailableError("Consent is recorded for this device but not yet for the person; retry the same batch");
  }
}

async function foldProfile(ctx: EffectContext, info: SessionIdentityInfo): Promise<void> {
  const { store, tenant } = ctx;
  try {
    const person = await personOf(store, tenant, info.identity);
    if (!person) return;
    // A person who withdrew on another device is not profiled from this one either.
    const consent = await store.consent(tenant, person);
    if (consent && !consent.personalization && consent.updated_at >= (info.consent?.updated_at ?? 0)) return;
    await store.fold(tenant, person, info.contribution);
  } catch (err) {
    ctx.log.warn("profile_fold_failed", { error: describe(err) });
  }
}

/** After a withdrawal, this device's contribution leaves the person's profile too. */
async function forgetDevice(ctx: EffectContext, identity: IdentityValue): Promise<void> {
  const { store, tenant } = ctx;
  try {
    const person = await personOf(store, tenant, identity);
    if (person) await store.forget(tenant, person, ctx.visitorId);
  } catch (err) {
    // The session is already wiped and the answer stands; the device's old contribution stays in the
    // profile until its TTL or an erasure. Logged so an operator can act on it.
    ctx.log.error("profile_forget_failed", { error: describe(err) });
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
