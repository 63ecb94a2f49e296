import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { demoShopRoute } from "./demo-shop/route";
import { eventsRoute } from "./events/route";
import { requestContext } from "./http/context";
import { storefrontCors } from "./http/cors";
import { ApiError } from "./http/errors";
import { onError, onNotFound } from "./http/error-handler";
import { clientRequestIdCheck, securityHeaders } from "./http/headers";
import type { AppEnv } from "./http/types";
import { adminApiRoute } from "./mlops/admin/route";
import { dashboardRoute } from "./mlops/dashboard/route";
import { openApiRoute } from "./openapi/route";
import { featuresRoute, healthRoute } from "./ops/health";
import { subjectsRoute } from "./privacy/route";
import { profileRoute } from "./profile/route";
import { recommendationsRoute } from "./recommend/route";
import { segmentRoute } from "./segment/route";
import { sessionRoute } from "./session/route";

/** The HTTP API: middleware chain and routes. */
export const app = new Hono<AppEnv>()
  .use(requestId({ limitLength: 64, generator: () => crypto.randomUUID() }))
  .use(clientRequestIdCheck())
  .use(securityHeaders())
  .use(requestContext())
  .use(storefrontCors())
  .route("/healthz", healthRoute)
  .route("/v1/events", eventsRoute)
  .route("/v1/session", sessionRoute)
  .route("/v1/features", featuresRoute)
  .route("/v1/recommendations", recommendationsRoute)
  .route("/v1/profile", profileRoute)
  .route("/v1/subjects", subjectsRoute)
  .route("/admin/api", adminApiRoute)
  .route("/admin", dashboardRoute)
  .route("/v1", segmentRoute)
  .route("/", demoShopRoute)
  .route("/", openApiRoute)
  .all("/v1/events", () => {
    throw new ApiError(405, "method_not_allowed", "Use POST /v1/events");
  })
  .all("/v1/session", () => {
    throw new ApiError(405, "method_not_allowed", "Use GET /v1/session");
  });

app.onError(onError);
app.notFound(onNotFound);
