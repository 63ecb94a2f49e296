import { Hono } from "hono";
import { tenantAuth } from "../auth/tenant";
import { visitorIdentity } from "../auth/visitor";
import { initialState, materialise } from "../features/engine";
import type { AppEnv } from "../http/types";
import { sessionStub } from "./stub";

/** `GET /v1/session`: the calling visitor's own features (and nobody else's). */
export const sessionRoute = new Hono<AppEnv>().get("/", tenantAuth(), visitorIdentity(), async (c) => {
  const now = Date.now();
  const snapshot = await sessionStub(c.env, c.var.tenant.id, c.var.visitorId).snapshot(now);
  if (snapshot) return c.json(snapshot);
  // No events yet: answer the initial values without creating any storage.
  return c.json({
    visitor_id: c.var.visitorId,
    computed_at: now,
    events_applied: 0,
    pending_forward: 0,
    features: materialise(initialState(), now, { sessionGapMs: c.var.config.sessionGapMs }),
    recent_events: [],
  });
});
