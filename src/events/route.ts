import { Hono } from "hono";
import * as v from "valibot";
import { tenantAuth } from "../auth/tenant";
import { visitorIdentity } from "../auth/visitor";
import { readJsonBody, requireJson } from "../http/body";
import { ApiError } from "../http/errors";
import { serverTiming, timed } from "../http/timing";
import type { AppEnv } from "../http/types";
import { pseudonymise } from "../privacy/pseudonymise";
import { sessionStub } from "../session/stub";
import { LIMITS } from "./limits";
import type { TrackedEvent } from "./types";
import { type RejectCode, validateEvent } from "./validate";

/** Per-index result of a batch. */
export type EventResult =
  | { index: number; id: string | null; status: "accepted" | "duplicate" }
  | { index: number; id: string | null; status: "rejected"; code: RejectCode; message: string };

const BodySchema = v.strictObject({
  events: v.array(v.unknown()),
  /** When the SDK sent the batch (its clock); corrects every event timestamp for client clock skew. */
  sent_at: v.optional(v.union([v.pipe(v.number(), v.safeInteger(), v.minValue(0)), v.pipe(v.string(), v.isoTimestamp())])),
});

/** `POST /v1/events`: validate a batch, apply it to the visitor's session, forward it to the queue. */
export const eventsRoute = new Hono<AppEnv>().post("/", tenantAuth(), visitorIdentity(), async (c) => {
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
  const tenant = c.var.tenant;
  const { piiSecret } = c.var.config;

  const results: EventResult[] = new Array(events.length);
  const valid: Array<{ index: number; event: TrackedEvent }> = [];
  await timed(c, "validate", async () => {
    for (const [index, rawEvent] of events.entries()) {
      const check = validateEvent(rawEvent, receivedAt, skewMs);
      const id = eventIdOf(rawEvent);
      if (!check.ok) {
        results[index] = { index, id, status: "rejected", code: check.code, message: check.message };
        continue;
      }
      valid.push({ index, event: await pseudonymise(check.event, tenant.id, piiSecret) });
    }
  });

  if (valid.length > 0) {
    const stub = sessionStub(c.env, tenant.id, c.var.visitorId);
    const outcome = await timed(c, "session", async () => {
      try {
        return await stub.ingest({ tenant: tenant.id, visitorId: c.var.visitorId }, valid.map((x) => x.event), receivedAt);
      } catch (err) {
        c.var.log.warn("session_unavailable", { error: err instanceof Error ? err.message : String(err) });
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
      results[index] = { index, id: event.id, status };
    });
  }

  const count = (s: EventResult["status"]) => results.filter((r) => r.status === s).length;
  const summary = { accepted: count("accepted"), duplicate: count("duplicate"), rejected: count("rejected") };
  c.var.log.info("events_ingested", { tenant: tenant.id, ...summary });
  c.header("server-timing", serverTiming(c.var.timings));
  return c.json({ ...summary, results }, 202);
});

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
