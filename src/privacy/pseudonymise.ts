import { hmacHex } from "../auth/crypto";
import type { IncomingEvent } from "../events/schema";
import type { TrackedEvent } from "../events/types";
import { scrubFreeText } from "./scrub";

/** Normalises an email before hashing so that case and spaces do not split a person. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Turns a validated incoming event into the form that is stored and forwarded:
 * customer ids and emails become keyed HMACs (domain-separated by a prefix),
 * search queries are scrubbed. Nothing downstream ever sees the clear values.
 */
export async function pseudonymise(event: IncomingEvent, tenantId: string, secret: string): Promise<TrackedEvent> {
  switch (event.type) {
    case "identify": {
      const { customer_id, email } = event.properties;
      const customer_hash = await hmacHex(secret, `customer:${tenantId}:${customer_id}`);
      const properties =
        email === undefined
          ? { customer_hash }
          : { customer_hash, email_hash: await hmacHex(secret, `email:${tenantId}:${normaliseEmail(email)}`) };
      return { id: event.id, type: "identify", timestamp: event.timestamp, properties };
    }
    case "search":
      return { ...event, properties: { ...event.properties, query: scrubFreeText(event.properties.query) } };
    default:
      return event;
  }
}
