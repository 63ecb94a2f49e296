import type { IdentifyProps, TrackedEvent } from "../events/types";
import type { IdentityValue } from "../features/definitions/visitor";
import type { ProfileStore } from "../profile/store";
import type { IdentifyClaim, LinkResult } from "./graph";
import { type NodeId, node, personIdOf } from "./identifiers";

/** The graph claim of an (authenticated, pseudonymised) identify event seen on a visitor. */
export function claimOf(visitorId: string, event: TrackedEvent & { type: "identify" }): IdentifyClaim {
  const p: IdentifyProps = event.properties;
  const others: NodeId[] = [node("visitor", visitorId)];
  if (p.device_hash) others.push(node("device", p.device_hash));
  const unproven: NodeId[] = [];
  if (p.unproven_email_hash) unproven.push(node("email", p.unproven_email_hash));
  if (p.unproven_device_hash) unproven.push(node("device", p.unproven_device_hash));
  return {
    customer: p.customer_hash ? node("customer", p.customer_hash) : null,
    email: p.email_hash ? node("email", p.email_hash) : null,
    others,
    unproven,
    at: event.timestamp,
    event_id: event.id,
    ...(p.key_id ? { key_id: p.key_id } : {}),
  };
}

/** Links an identify into the tenant's identity graph. */
export function linkIdentify(store: ProfileStore, tenant: string, visitorId: string, event: TrackedEvent & { type: "identify" }): Promise<LinkResult> {
  return store.link(tenant, claimOf(visitorId, event));
}

/**
 * The person behind a session's identity: derived directly from the customer
 * (no round trip), or looked up for a guest known only by email.
 */
export async function personOf(store: ProfileStore, tenant: string, identity: Pick<IdentityValue, "customer_hash" | "email_hash">): Promise<string | null> {
  if (identity.customer_hash) return personIdOf(identity.customer_hash);
  if (identity.email_hash) return store.resolve(tenant, node("email", identity.email_hash));
  return null;
}
