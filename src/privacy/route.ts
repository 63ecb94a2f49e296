import { Hono } from "hono";
import { backendAuth } from "../auth/backend";
import { tenantAuth } from "../auth/tenant";
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/types";
import { ProfileStoreError } from "../profile/store";
import { eraseSubject, parseSubject } from "./erasure";
import { auditRetention } from "./retention";
import { receiptKey } from "./tombstones";

const ERASURE_ID = /^[0-9a-f-]{36}$/;

/**
 * `DELETE /v1/subjects/{kind:value}` erases a person everywhere and answers with
 * a receipt; `GET /v1/subjects/erasures/{id}` shows the receipt later, with the
 * event-log purge completed. Backend tokens with `privacy:erase` only.
 */
export const subjectsRoute = new Hono<AppEnv>()
  /** `GET /v1/subjects/retention`: everything this tenant stores without an expiry or past it (admin). */
  .get("/retention", tenantAuth(), backendAuth("admin"), async (c) => c.json(await auditRetention(c.env, c.get("config"), c.get("tenant").id)))
  .get("/erasures/:id", tenantAuth(), backendAuth("privacy:erase"), async (c) => {
    const id = c.req.param("id");
    if (!ERASURE_ID.test(id)) throw new ApiError(400, "invalid_parameter", "Erasure ids are UUIDs");
    const receipt = await c.env.EVENT_LOG.get(receiptKey(c.get("tenant").id, id));
    if (!receipt) throw new ApiError(404, "not_found", "No such erasure for this tenant");
    return c.json(await receipt.json());
  })
  .delete("/:subject", tenantAuth(), backendAuth("privacy:erase"), async (c) => {
    const subject = parseSubject(c.req.param("subject"));
    if (!subject) {
      throw new ApiError(400, "invalid_parameter", "Name the subject as customer:<id>, email:<address>, device:<id> or visitor:<visitor id or token>");
    }
    try {
      const receipt = await eraseSubject(c.env, c.get("config"), c.get("tenant").id, subject, c.get("config").erasurePurgeDelayS);
      c.get("log").info("subject_erased", { erasure_id: receipt.erasure_id, kind: subject.kind, found: receipt.found, visitors: receipt.stores.sessions.visitors });
      return c.json(receipt, 200);
    } catch (err) {
      c.get("log").error("erasure_failed", { kind: subject.kind, error: err instanceof Error ? err.message : String(err) });
      // Every step is idempotent and the identity graph goes last: a retry finds and finishes everything.
      const what = err instanceof ProfileStoreError ? "the profile store" : "a store";
      throw new ApiError(503, "erasure_incomplete", `Erasure could not finish (${what} is unavailable); retry the same request`, { "retry-after": "5" });
    }
  });
