import { type Context, Hono } from "hono";
import * as v from "valibot";
import { optionalToken } from "../auth/backend";
import { tenantAuth } from "../auth/tenant";
import { visitorIdentity } from "../auth/visitor";
import { readJsonBody, requireJson } from "../http/body";
import { ApiError } from "../http/errors";
import { serverTiming, timed } from "../http/timing";
import type { AppEnv } from "../http/types";
import { gpcHeader } from "../privacy/consent";
import { profileStore } from "../profile/select";
import { ingestBatch } from "./ingest";
import { LIMITS } from "./limits";
import type { EventResult } from "./prepare";

export type { EventResult } from "./prepare";

export const BodySchema = v.strictObject({
  events: v.array(v.unknown()),
  /** When the SDK sent the batch (its clock); corrects every event timestamp for client clock skew. */
  sent_at: v.optional(v.union([v.pipe(v.number(), v.safeInteger(), v.minValue(0)), v.pipe(v.string(), v.isoTimestamp())])),
});

/** `POST /v1/events`: validate a batch, apply it to the visitor's session, forward it to the queue. */
export const eventsRoute = new Hono<AppEnv>().post("/", tenantAuth(), visitorIdentity(), optionalToken(), postEvents);

async function postEvents(c: Context<AppEnv>): Promise<Response> {
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
}

/**
 * Runs the ingest use case for the request's verified tenant, visitor and principal,
 * mapping a store that could not take the batch to its 503 (with `Retry-After`).
 * Shared by `POST /v1/events` and the Segment API.
 */
export async function ingestEvents(c: Context<AppEnv>, events: readonly unknown[], receivedAt: number, skewMs: number): Promise<EventResult[]> {
  const { config, tenant, visitorId, principal, log } = c.var;
  const env = c.env;
  const outcome = await ingestBatch(
    {
      env,
      config,
      tenant,
      visitorId,
      principal,
      gpc: gpcHeader(c.req.header("sec-gpc")),
      store: profileStore(env, config),
      log,
      timed: (name, fn) => timed(c, name, fn),
      waitUntil: (p) => c.executionCtx.waitUntil(p),
    },
    events,
    receivedAt,
    skewMs,
  );
  if (!outcome.ok) throw new ApiError(503, outcome.code, outcome.message, { "retry-after": String(outcome.retryAfterS) });
  return outcome.results;
}

function clockSkew(sentAt: number | string | undefined, receivedAt: number): number {
  if (sentAt === undefined) return 0;
  const sent = typeof sentAt === "number" ? sentAt : Date.parse(sentAt);
  return Number.isFinite(sent) ? receivedAt - sent : 0;
}
