import { Hono } from "hono";
import { featureSpecs } from "../features/registry";
import type { AppEnv } from "../http/types";

/** `GET /healthz`: liveness, cheap enough for load balancers and the benchmark baseline. */
export const healthRoute = new Hono<AppEnv>().get("/", (c) => c.json({ status: "ok" }));

/** `GET /v1/features`: the feature definitions the store computes (metadata only). */
export const featuresRoute = new Hono<AppEnv>().get("/", (c) => c.json({ features: featureSpecs() }));
