import { type Context, Hono } from "hono";
import * as v from "valibot";
import { backendAuth } from "../../auth/backend";
import { tenantAuth } from "../../auth/tenant";
import { readJsonBody, requireJson } from "../../http/body";
import { ApiError } from "../../http/errors";
import type { AppEnv } from "../../http/types";
import type { AdminResult } from "../monitor/monitor-do";
import { adminOrigin } from "./origin";
import { DriftSettingsPatchSchema } from "../monitor/settings";
import { RETENTION_HOURS } from "../monitor/schema";
import { StartRolloutSchema } from "../rollout/plan";

export const WeightsSchema = v.strictObject({
  weights: v.pipe(
    v.record(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,32}$/)), v.pipe(v.number(), v.minValue(0), v.maxValue(1_000_000))),
    v.check((w) => Object.keys(w).length > 0, "weights is empty"),
  ),
});
export const RollbackSchema = v.strictObject({ reason: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(500))) });
const RolloutId = /^ro\d{1,9}$/;

/**
 * `/admin/api/*`: the MLOps admin API (JWT with the `admin` scope, after the
 * tenant's publishable key). Reads aggregate from the tenant's MonitorDO;
 * changes go through it too, so experiments.json has one writer at a time.
 */
export const adminApiRoute = new Hono<AppEnv>()
  .use("*", adminOrigin(), tenantAuth(), backendAuth("admin"), async function noStore(c, next) {
    await next();
    c.header("cache-control", "no-store");
  })
  .get("/dashboard", async (c) => c.json(await monitor(c).dashboard(c.get("tenant").id, hoursParam(c))))
  .get("/models", async (c) => c.json({ models: (await monitor(c).dashboard(c.get("tenant").id, hoursParam(c))).models }))
  .get("/drift", async (c) => c.json({ drift: (await monitor(c).dashboard(c.get("tenant").id, hoursParam(c))).drift }))
  .get("/experiments", async (c) => {
    const d = await monitor(c).dashboard(c.get("tenant").id, hoursParam(c));
    return c.json({ current: d.config?.experiment ?? null, experiments: d.experiments });
  })
  .get("/ingestion", async (c) => c.json((await monitor(c).dashboard(c.get("tenant").id, hoursParam(c))).ingestion))
  .get("/rollouts", async (c) => c.json(await monitor(c).listRollouts()))
  .post("/rollouts", async (c) => {
    const body = await parsed(c, StartRolloutSchema);
    return c.json(unwrap(await monitor(c).startRollout(c.get("tenant").id, body, who(c))), 201);
  })
  .post("/rollouts/:id/promote", async (c) => c.json(unwrap(await monitor(c).promote(c.get("tenant").id, rolloutId(c), who(c)))))
  .post("/rollouts/:id/rollback", async (c) => {
    const id = rolloutId(c);
    const hasBody = c.req.raw.body !== null && c.req.header("content-length") !== "0";
    const body = hasBody ? await parsed(c, RollbackSchema) : {};
    return c.json(unwrap(await monitor(c).rollback(c.get("tenant").id, id, body.reason ?? "rolled back by an admin", who(c))));
  })
  .put("/experiments/current/weights", async (c) => {
    const body = await parsed(c, WeightsSchema);
    return c.json({ config: unwrap(await monitor(c).setWeights(c.get("tenant").id, body.weights, who(c))) });
  })
  .get("/settings", async (c) => c.json(await monitor(c).getSettings()))
  .put("/settings", async (c) => c.json(await monitor(c).updateSettings(await parsed(c, DriftSettingsPatchSchema))));

function monitor(c: Context<AppEnv>) {
  return c.env.MONITOR.getByName(c.get("tenant").id);
}

function who(c: Context<AppEnv>): string {
  return c.get("principal")?.subject ?? "admin";
}

function hoursParam(c: Context<AppEnv>): number {
  const raw = c.req.query("hours");
  if (raw === undefined) return 24;
  const n = Number(raw);
  if (!/^\d{1,4}$/.test(raw) || n < 1 || n > RETENTION_HOURS) throw new ApiError(400, "invalid_parameter", `hours must be an integer from 1 to ${RETENTION_HOURS}`);
  return n;
}

function rolloutId(c: Context<AppEnv>): string {
  const id = c.req.param("id") ?? "";
  if (!RolloutId.test(id)) throw new ApiError(404, "not_found", `No rollout ${JSON.stringify(id.slice(0, 40))}`);
  return id;
}

async function parsed<S extends v.GenericSchema>(c: Context<AppEnv>, schema: S): Promise<v.InferOutput<S>> {
  requireJson(c);
  const result = v.safeParse(schema, await readJsonBody(c, 16 * 1024), { abortPipeEarly: true });
  if (!result.success) throw new ApiError(400, "invalid_body", v.summarize(result.issues).split("\n")[0] ?? "invalid body");
  return result.output;
}

function unwrap<T>(result: AdminResult<T>): T {
  if (!result.ok) throw new ApiError(result.status, result.code, result.message);
  return result.value;
}
