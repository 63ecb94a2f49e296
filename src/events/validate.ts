import * as v from "valibot";
import { LIMITS } from "./limits";
import { type IncomingEvent, IncomingEventSchema, isKnownType } from "./schema";

/** Why one event of a batch was rejected; stable codes. */
export type RejectCode =
  | "invalid_event"
  | "unknown_type"
  | "event_too_large"
  | "timestamp_in_future"
  | "timestamp_too_old"
  /** `identify` and `purchase` need a token (backend, or a customer token the shop issued). */
  | "token_required"
  | "insufficient_scope"
  /** A customer token may only identify its own customer. */
  | "identity_mismatch"
  /** Neither analytics nor personalization consent: the event was not stored (send a consent event first). */
  | "consent_required"
  /** The visitor was erased while this request was in flight: its events are dropped, as the erasure promises. */
  | "subject_erased";

/** The outcome of validating one event: data, not an exception. */
export type EventCheck = { ok: true; event: IncomingEvent } | { ok: false; code: RejectCode; message: string };

const encoder = new TextEncoder();

/**
 * Validates one raw event against its schema, the size limit and the timestamp
 * window at `now`. `skewMs` (server clock minus client clock) corrects the timestamp first.
 */
export function validateEvent(raw: unknown, now: number, skewMs = 0): EventCheck {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return reject("invalid_event", "each event must be a JSON object");
  }
  const bytes = encoder.encode(JSON.stringify(raw)).byteLength;
  if (bytes > LIMITS.maxEventBytes) {
    return reject("event_too_large", `event is ${bytes} bytes; the limit is ${LIMITS.maxEventBytes}`);
  }
  const type = (raw as Record<string, unknown>).type;
  if (!isKnownType(type)) {
    return reject("unknown_type", `unknown event type ${JSON.stringify(type)?.slice(0, 80) ?? "undefined"}`);
  }
  // abortPipeEarly: a field that failed its length limit is not also run through the patterns.
  const parsed = v.safeParse(IncomingEventSchema, raw, { abortPipeEarly: true });
  if (!parsed.success) return reject("invalid_event", describeIssue(parsed.issues[0]));
  const ts = parsed.output.timestamp + skewMs;
  if (ts > now + LIMITS.maxFutureMs) {
    return reject("timestamp_in_future", "timestamp is more than 24 h in the future");
  }
  if (ts < now - LIMITS.maxAgeMs) {
    return reject("timestamp_too_old", "timestamp is more than 30 days old (epoch timestamps are in milliseconds)");
  }
  return { ok: true, event: { ...parsed.output, timestamp: ts } };
}

function reject(code: RejectCode, message: string): EventCheck {
  return { ok: false, code, message };
}

function describeIssue(issue: v.BaseIssue<unknown> | undefined): string {
  if (!issue) return "invalid event";
  const path = v.getDotPath(issue);
  // valibot reports an unexpected key of a strict object with the key as its path.
  return path ? `${path}: ${issue.message}` : issue.message;
}
