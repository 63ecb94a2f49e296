import { Hono } from "hono";
import { tenantAuth } from "../auth/tenant";
import { visitorIdentity } from "../auth/visitor";
import { initialState, materialise } from "../features/engine";
import type { AppEnv } from "../http/types";
import { sessionStub } from "./stub";

/** `GET /v1/session`: the calling visitor's own features (and nobody else's). */
export const sessionRoute = new Hono<AppEnv>().get("/", tenantAuth(), visitorIdentity(), async (c) => {
  const now = Date.now();
  // A visitor issued just now has no session yet: do not wake a Durable Object for it.
  const snapshot = c.get("visitorIssued") ? null : await sessionStub(c.env, c.get("tenant").id, c.get("visitorId")).snapshot(now);
  if (snapshot) return c.json(snapshot);
  return c.json({
    visitor_id: c.get("visitorId"),
    computed_at: now,
    events_applied: 0,
    pending_forward: 0,
    features: materialise(initialState(), now, { sessionGapMs: c.get("config").sessionGapMs }),
    recent_events: [],
  });
});
