import { type Context, Hono } from "hono";
import * as v from "valibot";
import { type EventResult, ingestEvents } from "../events/route";
import { LIMITS } from "../events/limits";
import type { RejectCode } from "../events/validate";
import { readJsonBody } from "../http/body";
import { ApiError } from "../http/errors";
import { resolveVisitor, verifyVisitorToken } from "../auth/visitor";
import { limitByAddress } from "../http/rate-limit";
import { serverTiming } from "../http/timing";
import type { AppEnv } from "../http/types";
import { type SegmentRejectCode, mapSegmentMessage } from "./map";
import { SegmentBatchSchema, type SegmentMessage, SegmentMessageSchema } from "./schema";
import { segmentVisitorId, segmentVisitorToken } from "./visitor";
import { type SegmentSource, presentedWriteKey, resolveWriteKey } from "./write-key";

/** Per-message outcome, in request order. */
export type SegmentResult =
  | { index: number; messageId: string | null; status: "accepted" | "duplicate" }
  | { index: number; messageId: string | null; status: "rejected"; code: RejectCode | SegmentRejectCode; message: string };

const encoder = new TextEncoder();

/**
 * Segment's HTTP Tracking API (`/v1/batch`, `/v1/track`, `/v1/page`, `/v1/identify`, and
 * analytics.js's short paths `/v1/b`, `/v1/t`, `/v1/p`, `/v1/i`): messages are mapped onto
 * our event types and go through the same validation and ingest as `POST /v1/events`.
 */
export const segmentRoute = new Hono<AppEnv>();
for (const path of ["/batch", "/b"]) {
  segmentRoute.post(path, async (c) => {
    const early = await authenticateByHeader(c);
    const raw = await readSegmentBody(c, LIMITS.maxRequestBytes);
    const body = v.safeParse(SegmentBatchSchema, raw);
    if (!body.success) throw new ApiError(400, "invalid_body", `Body must be { "batch": [ … ] }: ${v.summarize(body.issues).split("\n")[0]}`);
    // Segment's batch-level `context` applies to every message that has none of its own.
    const shared = body.output.context;
    const batch = shared ? body.output.batch.map((m) => (typeof m === "object" && m !== null && !Array.isArray(m) && !("context" in m) ? { ...m, context: shared } : m)) : body.output.batch;
    return ingestSegment(c, early ?? (await authenticate(c, body.output.writeKey)), batch, body.output.sentAt);
  });
}
for (const [type, paths] of [
  ["track", ["/track", "/t"]],
  ["page", ["/page", "/p"]],
  ["identify", ["/identify", "/i"]],
] as const) {
  for (const path of paths) {
    segmentRoute.post(path, async (c) => {
      const early = await authenticateByHeader(c);
      const raw = await readSegmentBody(c, LIMITS.maxEventBytes);
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ApiError(400, "invalid_body", "Body must be one Segment message object");
      const message: Record<string, unknown> = { ...(raw as Record<string, unknown>), type };
      return ingestSegment(c, early ?? (await authenticate(c, message.writeKey)), [message], undefined);
    });
  }
}

/** analytics.js posts `text/plain` (no CORS preflight for the body); server clients post JSON. */
async function readSegmentBody(c: Context<AppEnv>, maxBytes: number): Promise<unknown> {
  const mime = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (mime !== "application/json" && mime !== "text/plain") throw new ApiError(415, "unsupported_media_type", "Send the body as application/json (or text/plain, as analytics.js does)");
  return readJsonBody(c, maxBytes);
}

/** Basic auth is checked before the body is read; without the header the body's `writeKey` counts. */
function authenticateByHeader(c: Context<AppEnv>): Promise<SegmentSource> | null {
  return c.req.header("authorization") === undefined ? null : authenticate(c, undefined);
}

async function authenticate(c: Context<AppEnv>, bodyWriteKey: unknown): Promise<SegmentSource> {
  const source = await resolveWriteKey(c.env, c.get("config"), presentedWriteKey(c.req.header("authorization"), bodyWriteKey));
  const origin = c.req.header("origin");
  if (source.kind === "browser" && origin && !source.tenant.origins.includes(origin) && origin !== new URL(c.req.url).origin) {
    throw new ApiError(403, "forbidden_origin", "This origin is not a configured storefront of the tenant");
  }
  return source;
}

async function ingestSegment(c: Context<AppEnv>, source: SegmentSource, messages: unknown[], batchSentAt: string | undefined): Promise<Response> {
  const receivedAt = Date.now();
  if (messages.length === 0) throw new ApiError(400, "empty_batch", "batch is empty");
  if (messages.length > LIMITS.maxEventsPerRequest) throw new ApiError(413, "too_many_events", `${messages.length} messages; the limit is ${LIMITS.maxEventsPerRequest} per request`);
  c.set("tenant", source.tenant);
  c.set("principal", source.principal);
  // A browser source is a browser call like any other: the same per-address limit (and per visitor, below).
  if (source.kind === "browser") await limitByAddress(c, { credentialed: false });
  const { visitorSecret } = c.get("config");
  // A browser source's session is the request's own signed visitor (cookie or header), never one
  // named by a client-chosen anonymousId: Durable Object names derive from verified identity only.
  const browserVisitor = source.kind === "browser" ? await resolveVisitor(c) : null;

  const results: SegmentResult[] = new Array(messages.length);
  const groups = new Map<string, { who: string; items: Array<{ index: number; event: Record<string, unknown> }> }>();
  const derived = new Map<string, string>();
  // No message can be larger than a body of at most 32 KB: then sizes need not be measured one by one.
  const small = Number(c.req.header("content-length") ?? Infinity) <= LIMITS.maxEventBytes;
  for (const [index, raw] of messages.entries()) {
    const messageId = messageIdOf(raw);
    const reject = (code: RejectCode | SegmentRejectCode, message: string) => (results[index] = { index, messageId, status: "rejected", code, message });
    // Length before shape: a message is at most 32 KB as sent (context and all).
    const text = small ? "" : (JSON.stringify(raw) ?? "");
    // UTF-8 needs at most 3 bytes per UTF-16 unit: short messages skip the encoding.
    const bytes = text.length * 3 <= LIMITS.maxEventBytes ? text.length : encoder.encode(text).byteLength;
    if (bytes > LIMITS.maxEventBytes) {
      reject("event_too_large", `message is ${bytes} bytes; the limit is ${LIMITS.maxEventBytes}`);
      continue;
    }
    const parsed = v.safeParse(SegmentMessageSchema, raw);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      reject("invalid_event", `${v.getDotPath(issue) ?? "message"}: ${issue.message}`);
      continue;
    }
    const msg: SegmentMessage = parsed.output;
    if (msg.anonymousId == null && msg.userId == null) {
      reject("invalid_event", "a message needs anonymousId or userId");
      continue;
    }
    const eventId = msg.messageId ?? (await contentId(raw));
    const mapped = mapSegmentMessage(msg, eventId, receivedAt, batchSentAt);
    if (!mapped.ok) {
      reject(mapped.code, mapped.message);
      continue;
    }
    const who = msg.anonymousId != null ? { anonymousId: msg.anonymousId } : { userId: msg.userId! };
    const whoKey = who.anonymousId !== undefined ? `a:${who.anonymousId}` : `u:${who.userId}`;
    const visitorId = await sessionOf(c, source, msg, whoKey, derived, browserVisitor);
    if (visitorId === null) {
      reject("invalid_event", "context.edgewise_visitor is not a visitor token of this tenant");
      continue;
    }
    const group = groups.get(visitorId) ?? { who: who.anonymousId ?? who.userId!, items: [] };
    group.items.push({ index, event: mapped.event });
    groups.set(visitorId, group);
  }

  // One ingest per visitor (one SessionDO transaction each), through the /v1/events path.
  const visitors: Record<string, string> = {};
  for (const [visitorId, group] of groups) {
    c.set("visitorId", visitorId);
    c.set("visitorIssued", false);
    const out: EventResult[] = await ingestEvents(
      c,
      group.items.map((x) => x.event),
      receivedAt,
      0,
    );
    out.forEach((r, i) => {
      const index = group.items[i]!.index;
      const messageId = messageIdOf(messages[index]) ?? r.id;
      results[index] = r.status === "rejected" ? { index, messageId, status: "rejected", code: r.code, message: r.message } : { index, messageId, status: r.status };
    });
    // Only a server source (secret write key) learns the visitor tokens: an anonymousId is no secret.
    if (source.kind === "server") visitors[group.who] = await segmentVisitorToken(visitorSecret, source.tenant.id, visitorId);
  }

  const count = (s: SegmentResult["status"]) => results.filter((r) => r.status === s).length;
  const summary = { accepted: count("accepted"), duplicate: count("duplicate"), rejected: count("rejected") };
  c.get("log").info("segment_ingested", { tenant: source.tenant.id, source: source.kind, ...summary });
  c.header("server-timing", serverTiming(c.get("timings")));
  return c.json({ success: true, ...summary, results, ...(source.kind === "server" ? { visitors } : {}) }, 200);
}

/**
 * The SessionDO a message goes to. Browser source: the request's verified visitor.
 * Server source (the shop's secret write key vouches for it): the browser's visitor when
 * the message names its token in `context.edgewise_visitor` (signature checked; `null`
 * when it does not verify), else a visitor derived from the anonymousId / userId
 * (an HMAC, one per person per request).
 */
async function sessionOf(c: Context<AppEnv>, source: SegmentSource, msg: SegmentMessage, whoKey: string, derived: Map<string, string>, browserVisitor: string | null): Promise<string | null> {
  if (browserVisitor !== null) return browserVisitor;
  const { visitorSecret } = c.get("config");
  const named = msg.context?.edgewise_visitor;
  if (named !== undefined) return typeof named === "string" && named.length <= 128 ? verifyVisitorToken(visitorSecret, source.tenant.id, named) : null;
  const hit = derived.get(whoKey);
  if (hit) return hit;
  const who = msg.anonymousId != null ? { anonymousId: msg.anonymousId } : { userId: msg.userId! };
  const id = await segmentVisitorId(visitorSecret, source.tenant.id, who);
  derived.set(whoKey, id);
  return id;
}

function messageIdOf(raw: unknown): string | null {
  if (typeof raw !== "object" || raw === null) return null;
  const id = (raw as Record<string, unknown>).messageId;
  return typeof id === "string" && id.length <= 64 ? id : null;
}

/** A message sent without a messageId gets one from its content, so an identical retry is still a duplicate. */
async function contentId(raw: unknown): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(JSON.stringify(raw))));
  return `seg-${[...digest.slice(0, 20)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}
