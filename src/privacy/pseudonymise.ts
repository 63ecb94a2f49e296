import { hmacHex } from "../auth/crypto";
import type { IncomingEvent } from "../events/schema";
import type { IdentifyProps, TrackedEvent } from "../events/types";
import { scrubFreeText } from "./scrub";

/** Normalises an email before hashing so that case and spaces do not split a person. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The keyed HMAC of a customer id (domain-separated per tenant). */
export function customerHash(secret: string, tenantId: string, customerId: string): Promise<string> {
  return hmacHex(secret, `customer:${tenantId}:${customerId}`);
}

/** The keyed HMAC of a device id (an app's install id or similar). */
export function deviceHash(secret: string, tenantId: string, deviceId: string): Promise<string> {
  return hmacHex(secret, `device:${tenantId}:${deviceId}`);
}

/** Which identifiers of an identify the caller has not proven (a customer token naming what the shop did not sign). */
export interface Unproven {
  email: boolean;
  device: boolean;
}

const ALL_PROVEN: Unproven = { email: false, device: false };

/** The keyed HMAC of a normalised email. */
export function emailHash(secret: string, tenantId: string, email: string): Promise<string> {
  return hmacHex(secret, `email:${tenantId}:${normaliseEmail(email)}`);
}

/**
 * Turns a validated incoming event into the form that is stored and forwarded:
 * customer ids and emails become keyed HMACs (domain-separated by a prefix),
 * search queries are scrubbed. Nothing downstream ever sees the clear values.
 */
export async function pseudonymise(event: IncomingEvent, tenantId: string, secret: string, keyId = "1", unproven: Unproven = ALL_PROVEN): Promise<TrackedEvent> {
  switch (event.type) {
    case "identify": {
      const { customer_id, email, device_id } = event.properties;
      const properties: IdentifyProps = { key_id: keyId };
      if (customer_id !== undefined) properties.customer_hash = await customerHash(secret, tenantId, customer_id);
      if (email !== undefined) properties[unproven.email ? "unproven_email_hash" : "email_hash"] = await emailHash(secret, tenantId, email);
      if (device_id !== undefined) properties[unproven.device ? "unproven_device_hash" : "device_hash"] = await deviceHash(secret, tenantId, device_id);
      return { id: event.id, type: "identify", timestamp: event.timestamp, properties };
    }
    case "search":
      return { ...event, properties: { ...event.properties, query: scrubFreeText(event.properties.query) } };
    case "page_view": {
      // Paths and referrers can carry emails or phone numbers in query strings.
      const p = event.properties;
      if (!p) return event;
      const properties = { ...p };
      if (p.path !== undefined) properties.path = scrubFreeText(p.path);
      if (p.referrer !== undefined) properties.referrer = scrubFreeText(p.referrer);
      return { ...event, properties };
    }
    default:
      return event;
  }
}
