import { type Context, Hono } from "hono";
import * as v from "valibot";
import { optionalToken } from "../auth/backend";
import type { Principal } from "../auth/scopes";
import { tenantAuth } from "../auth/tenant";
import { visitorIdentity } from "../auth/visitor";
import { readJsonBody, requireJson } from "../http/body";
import { ApiError } from "../http/errors";
import { serverTiming, timed } from "../http/timing";
import type { AppEnv } from "../http/types";
import type { IdentityValue } from "../features/definitions/visitor";
import { linkIdentify, personOf } from "../identity/service";
import { gpcHeader } from "../privacy/consent";
import { type Unproven, normaliseEmail, pseudonymise } from "../privacy/pseudonymise";
import type { PersonConsent } from "../profile/operations";
import { profileStore } from "../profile/select";
import type { SessionIdentityInfo } from "../session/session-do";
import { sessionStub } from "../session/stub";
import { takePendingImpressions } from "../recommend/impression";
import { LIMITS } from "./limits";
import type { IncomingEvent } from "./schema";
import type { TrackedEvent } from "./types";
import { type EventCheck, type RejectCode, validateEvent } from "./validate";

/** Per-index result of a batch. */
export type EventResult =
  | { index: number; id: string | null; status: "accepted" | "duplicate" }
  | { index: number; id: string | null; status: "rejected"; code: RejectCode; message: string };

export const BodySchema = v.strictObject({
  events: v.array(v.unknown()),
  /** When the SDK sent the batch (its clock); corrects every event timestamp for client clock skew. */
  sent_at: v.optional(v.union([v.pipe(v.number(), v.safeInteger(), v.minValue(0)), v.pipe(v.string(), v.isoTimestamp())])),
});

/** `POST /v1/events`: validate a batch, apply it to the visitor's session, forward it to the queue. */
export const eventsRoute = new Hono<AppEnv>().post("/", tenantAuth(), visitorIdentity(), optionalToken(), async (c) => {
  const receivedAt = Date.now();
  requireJson(c);
  const raw = await timed(c, "read", () => readJsonBody(c, LIMITS.maxRequestBytes));
  const body = v.safeParse(BodySchema, raw);
  if (!body.success) {
    throw new ApiError(400, "invalid_body", `Body must be { "events": [ … ] }: ${v.summarize(body.issues).split("\n")[0]}`);
  }
  const { events } = body.output;
  if (events.length === 0) throw new ApiError(400, "empty_batch", "events is empty");
  if (events.length > LIMITS.maxEventsPerRequest) {
    throw new ApiError(413, "too_many_events", `${events.length} events; the limit is ${LIMITS.maxEventsPerRequest} per request`);
  }
  const skewMs = clockSkew(body.output.sent_at, receivedAt);
  const results = await ingestEvents(c, events, receivedAt, skewMs);
  const count = (s: EventResult["status"]) => results.filter((r) => r.status === s).length;
  const summary = { accepted: count("accepted"), duplicate: count("duplicate"), rejected: count("rejected") };
  c.get("log").info("events_ingested", { tenant: c.get("tenant").id, ...summary });
  c.header("server-timing", serverTiming(c.get("timings")));
  return c.json({ ...summary, results }, 202);
});

/**
 * The one ingest path (`/v1/events` and the Segment API): validate, authorize against
 * `principal`, pseudonymise, apply to the session of `visitorId`, forward, link identities.
 * Throws `ApiError` 503 when a store is unavailable (the batch is idempotent: retry it).
 */
export async function ingestEvents(c: Context<AppEnv>, events: readonly unknown[], receivedAt: number, skewMs: number): Promise<EventResult[]> {
  const tenant = c.get("tenant");
  const { piiSecret, piiKeyId } = c.get("config");

  const results: EventResult[] = new Array(events.length);
  const valid: Array<{ index: number; event: TrackedEvent }> = [];
  await timed(c, "validate", async () => {
    for (const [index, rawEvent] of events.entries()) {
      const principal = c.get("principal");
      const check = authorizeEvent(validateEvent(rawEvent, receivedAt, skewMs), principal);
      const id = eventIdOf(rawEvent);
      if (!check.ok) {
        results[index] = { index, id, status: "rejected", code: check.code, message: check.message };
        continue;
      }
      // Consent is ordered by when we received it, not by the client's clock: a grant stamped
      // hours ahead must not outvote a withdrawal that arrives after it.
      const event = check.event.type === "consent" ? { ...check.event, timestamp: receivedAt } : check.event;
      valid.push({ index, event: await pseudonymise(event, tenant.id, piiSecret, piiKeyId, unprovenOf(event, principal)) });
    }
  });

  if (valid.length > 0) {
    const stub = sessionStub(c.env, tenant.id, c.get("visitorId"));
    const outcome = await timed(c, "session", async () => {
      try {
        return await stub.ingest({ tenant: tenant.id, visitorId: c.get("visitorId") }, valid.map((x) => x.event), receivedAt, {
          mode: tenant.consent,
          gpc: gpcHeader(c.req.header("sec-gpc")),
        }, takePendingImpressions(tenant.id, c.get("visitorId")));
      } catch (err) {
        c.get("log").warn("session_unavailable", { error: err instanceof Error ? err.message : String(err) });
        throw new ApiError(503, "session_unavailable", "The session store is unavailable; retry the same batch", {
          "retry-after": "2",
        });
      }
    });
    if (!outcome.ok) {
      throw new ApiError(503, "enqueue_failed", "Events could not be forwarded yet; retry the same batch (it is idempotent)", {
        "retry-after": "5",
      });
    }
    outcome.outcomes.forEach((status, i) => {
      const { index, event } = valid[i]!;
      results[index] =
        status === "no_consent"
          ? { index, id: event.id, status: "rejected", code: "consent_required", message: "No consent for analytics or personalization: the event was not stored" }
          : status === "erased"
            ? { index, id: event.id, status: "rejected", code: "subject_erased", message: "This visitor was erased while the request was in flight: the event was dropped" }
            : { index, id: event.id, status };
    });
    if (outcome.withdrawn?.identity) await timed(c, "profile", () => forgetDevice(c, outcome.withdrawn!.identity!));
    // Consent declared by an identified visitor is the person's consent, on every device.
    const declared = valid.map((x) => x.event).filter((e): e is TrackedEvent & { type: "consent" } => e.type === "consent");
    const who = outcome.identified?.identity ?? outcome.withdrawn?.identity ?? null;
    if (who && (declared.length > 0 || (outcome.identified?.consent && valid.some((x) => x.event.type === "identify")))) {
      const latest = declared.at(-1); // stamped with the receipt time: the last one applied is the newest
      const value = latest ? { analytics: latest.properties.analytics, personalization: latest.properties.personalization, updated_at: latest.timestamp } : outcome.identified!.consent!;
      await timed(c, "profile", () => recordPersonConsent(c, who, value));
    }
    // Identify events (applied now, or duplicates of a batch whose linking failed) join the identity graph.
    const identifies = valid.map((x) => x.event).filter((e): e is TrackedEvent & { type: "identify" } => e.type === "identify");
    if (identifies.length > 0) await timed(c, "identity", () => linkAll(c, identifies));
    if (outcome.identified) {
      const fold = foldProfile(c, outcome.identified);
      // After an identify the profile must be current before we answer (the next call may come from another device);
      // otherwise a lost fold is repaired by the next one, which carries the whole session again.
      if (identifies.length > 0) await fold;
      else c.executionCtx.waitUntil(fold);
    }
  }

  return results;
}

/**
 * `identify` and `purchase` change who a visitor is and what they own, so a
 * publishable key alone cannot send them: they need a token with the scope, and a
 * customer token may only identify its own customer.
 */
function authorizeEvent(check: EventCheck, principal: Principal | null): EventCheck {
  if (!check.ok) return check;
  const { event } = check;
  if (event.type !== "identify" && event.type !== "purchase") return check;
  const scope = event.type === "identify" ? "identify" : "events:write";
  if (!principal) return { ok: false, code: "token_required", message: `${event.type} events need a token (Authorization: Bearer) with scope ${scope}` };
  if (!principal.scopes.has(scope)) return { ok: false, code: "insufficient_scope", message: `${event.type} events need the scope ${scope}` };
  if (event.type === "identify" && principal.kind === "customer" && event.properties.customer_id !== principal.customerId) {
    return { ok: false, code: "identity_mismatch", message: "A customer token can only identify its own customer_id" };
  }
  return check;
}

/**
 * What a customer token's identify names beyond what the shop signed into the token:
 * an email or device id the storefront merely asserts. Those are recorded, never linked
 * (anyone holding their own customer token could otherwise claim a stranger's email and
 * merge that guest's history into their account). Backend tokens speak for the shop.
 */
function unprovenOf(event: IncomingEvent, principal: Principal | null): Unproven {
  if (event.type !== "identify" || principal?.kind !== "customer") return { email: false, device: false };
  const { email, device_id } = event.properties;
  const provenEmail = principal.proven.email;
  return {
    email: email !== undefined && (provenEmail === null || normaliseEmail(provenEmail) !== normaliseEmail(email)),
    device: device_id !== undefined && device_id !== principal.proven.deviceId,
  };
}

async function linkAll(c: Context<AppEnv>, events: Array<TrackedEvent & { type: "identify" }>): Promise<void> {
  const store = profileStore(c.env, c.get("config"));
  for (const event of events) {
    try {
      const linked = await linkIdentify(store, c.get("tenant").id, c.get("visitorId"), event);
      c.get("log").info("identity_linked", { created: linked.created, merged: linked.merged.length, flagged: linked.flagged.length });
    } catch (err) {
      c.get("log").warn("identity_unavailable", { error: err instanceof Error ? err.message : String(err) });
      // The events are applied and logged; the link is retried when the client retries this batch.
      throw new ApiError(503, "identity_unavailable", "The identity store is unavailable; retry the same batch (it is idempotent)", {
        "retry-after": "2",
      });
    }
  }
}

async function recordPersonConsent(c: Context<AppEnv>, identity: IdentityValue, value: PersonConsent): Promise<void> {
  const store = profileStore(c.env, c.get("config"));
  try {
    const person = await personOf(store, c.get("tenant").id, identity);
    if (!person) return;
    await store.setConsent(c.get("tenant").id, person, value);
    // Withdrawn for the person: no device's history may keep shaping the profile.
    if (!value.personalization) for (const x of await store.contributions(c.get("tenant").id, person)) await store.forget(c.get("tenant").id, person, x.visitor);
  } catch (err) {
    c.get("log").error("person_consent_failed", { error: err instanceof Error ? err.message : String(err) });
    throw new ApiError(503, "identity_unavailable", "Consent is recorded for this device but not yet for the person; retry the same batch", { "retry-after": "2" });
  }
}

async function foldProfile(c: Context<AppEnv>, info: SessionIdentityInfo): Promise<void> {
  const store = profileStore(c.env, c.get("config"));
  try {
    const person = await personOf(store, c.get("tenant").id, info.identity);
    if (!person) return;
    // A person who withdrew on another device is not profiled from this one either.
    const consent = await store.consent(c.get("tenant").id, person);
    if (consent && !consent.personalization && consent.updated_at >= (info.consent?.updated_at ?? 0)) return;
    await store.fold(c.get("tenant").id, person, info.contribution);
  } catch (err) {
    c.get("log").warn("profile_fold_failed", { error: err instanceof Error ? err.message : String(err) });
  }
}

/** After a withdrawal, this device's contribution leaves the person's profile too. */
async function forgetDevice(c: Context<AppEnv>, identity: IdentityValue): Promise<void> {
  const store = profileStore(c.env, c.get("config"));
  try {
    const person = await personOf(store, c.get("tenant").id, identity);
    if (person) await store.forget(c.get("tenant").id, person, c.get("visitorId"));
  } catch (err) {
    // The session is already wiped and the answer stands; the device's old contribution stays in the
    // profile until its TTL or an erasure. Logged so an operator can act on it.
    c.get("log").error("profile_forget_failed", { error: err instanceof Error ? err.message : String(err) });
  }
}

function eventIdOf(raw: unknown): string | null {
  if (typeof raw !== "object" || raw === null) return null;
  const id = (raw as Record<string, unknown>).id;
  return typeof id === "string" && id.length <= 64 ? id : null;
}

function clockSkew(sentAt: number | string | undefined, receivedAt: number): number {
  if (sentAt === undefined) return 0;
  const sent = typeof sentAt === "number" ? sentAt : Date.parse(sentAt);
  return Number.isFinite(sent) ? receivedAt - sent : 0;
}
