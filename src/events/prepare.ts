import type { Principal } from "../auth/scopes";
import { type Unproven, normaliseEmail, pseudonymise } from "../privacy/pseudonymise";
import type { IncomingEvent } from "./schema";
import type { TrackedEvent } from "../contracts/events";
import { type EventCheck, type RejectCode, validateEvent } from "./validate";

/** Per-index result of a batch. */
export type EventResult = { index: number; id: string | null; status: "accepted" | "duplicate" } | { index: number; id: string | null; status: "rejected"; code: RejectCode; message: string };

/** What a batch is checked and pseudonymised against. */
export interface PrepareContext {
  principal: Principal | null;
  receivedAt: number;
  /** Server clock minus the client's (`sent_at`): corrects every timestamp first. */
  skewMs: number;
  tenantId: string;
  piiSecret: string;
  piiKeyId: string;
}

/** A batch split into the events to apply (in order, with their index) and the rejections. */
export interface PreparedBatch {
  valid: Array<{ index: number; event: TrackedEvent }>;
  rejected: EventResult[];
}

/**
 * Validates, authorizes and pseudonymises each event of a batch. Consent events
 * are stamped with the receipt time (consent is ordered by when we received it:
 * a grant stamped hours ahead must not outvote a later withdrawal), and what a
 * customer token names without proof is kept apart (`unproven_*`).
 */
export async function prepareBatch(events: readonly unknown[], ctx: PrepareContext): Promise<PreparedBatch> {
  const prepared: PreparedBatch = { valid: [], rejected: [] };
  for (const [index, raw] of events.entries()) {
    const check = authorizeEvent(validateEvent(raw, ctx.receivedAt, ctx.skewMs), ctx.principal);
    if (!check.ok) {
      prepared.rejected.push({ index, id: eventIdOf(raw), status: "rejected", code: check.code, message: check.message });
      continue;
    }
    const event = check.event.type === "consent" ? { ...check.event, timestamp: ctx.receivedAt } : check.event;
    prepared.valid.push({ index, event: await pseudonymise(event, ctx.tenantId, ctx.piiSecret, ctx.piiKeyId, unprovenOf(event, ctx.principal)) });
  }
  return prepared;
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

function eventIdOf(raw: unknown): string | null {
  if (typeof raw !== "object" || raw === null) return null;
  const id = (raw as Record<string, unknown>).id;
  return typeof id === "string" && id.length <= 64 ? id : null;
}
