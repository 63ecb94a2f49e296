import * as v from "valibot";
import { BodySchema as EventsBodySchema } from "../events/route";
import { IncomingEventSchema } from "../events/schema";
import { ERROR_CODES } from "../http/errors";

export { ERROR_CODES };
import { RollbackSchema, WeightsSchema } from "../mlops/admin/route";
import { DriftSettingsPatchSchema } from "../mlops/monitor/settings";
import { StartRolloutSchema } from "../mlops/rollout/plan";
import { RequestSchema as RecoRequestSchema } from "../recommend/params";
import { SegmentBatchSchema, SegmentIdentify, SegmentMessageSchema, SegmentPage, SegmentTrack } from "../segment/schema";

/** The error envelope every failure carries. */
export const ErrorEnvelopeSchema = v.strictObject({ error: v.strictObject({ code: v.picklist(ERROR_CODES), message: v.string() }) });

export type Security = "publishableKey" | "visitor" | "bearer" | "segmentWriteKey";

/** One documented operation; `body.schema` is the schema the route validates with. */
export interface Operation {
  method: "get" | "post" | "put" | "delete";
  path: string;
  tag: string;
  summary: string;
  description?: string;
  security: Security[];
  body?: {
    schema: v.GenericSchema;
    /** Replaces a property's item schema (the route validates each item separately). */
    items?: Record<string, v.GenericSchema>;
    contentTypes?: string[];
    example: unknown;
  };
  query?: v.ObjectSchema<v.ObjectEntries, undefined> | v.StrictObjectSchema<v.ObjectEntries, undefined>;
  pathParams?: string[];
  success: { status: number; description: string; contentType?: string };
}

const T0 = "2026-12-04T10:00:00Z";
const ADMIN = "Admin API (token with scope admin)";

/** The API, route by route. `test/openapi.integration.test.ts` checks it against the app's routes. */
export const OPERATIONS: Operation[] = [
  { method: "get", path: "/healthz", tag: "Operations", summary: "Liveness", security: [], success: { status: 200, description: '{"status":"ok"}' } },
  {
    method: "post",
    path: "/v1/events",
    tag: "Events",
    summary: "Send a batch of events",
    description: "Up to 500 events or 500 KB; each event is validated on its own (per-index results). Event ids are idempotency keys. `identify` and `purchase` need a token.",
    security: ["publishableKey", "visitor"],
    body: {
      schema: EventsBodySchema,
      items: { events: IncomingEventSchema },
      example: {
        sent_at: T0,
        events: [
          { id: "evt-1", type: "product_view", timestamp: T0, properties: { item_id: "sku-00001", category: "shoes/running", price: 172.99, currency: "EUR" } },
          { id: "evt-2", type: "add_to_cart", timestamp: T0, properties: { item_id: "sku-00001", quantity: 1, price: 172.99, currency: "EUR" } },
          { id: "evt-3", type: "consent", timestamp: T0, properties: { analytics: true, personalization: true } },
        ],
      },
    },
    success: { status: 202, description: "{ accepted, duplicate, rejected, results[] }" },
  },
  {
    method: "get",
    path: "/v1/session",
    tag: "Events",
    summary: "The calling visitor's features",
    security: ["publishableKey", "visitor"],
    success: { status: 200, description: "The visitor's session snapshot" },
  },
  { method: "get", path: "/v1/features", tag: "Events", summary: "Feature definitions", security: [], success: { status: 200, description: "{ features[] }" } },
  {
    method: "get",
    path: "/v1/recommendations",
    tag: "Recommendations",
    summary: "A ranked list (query parameters)",
    security: ["publishableKey", "visitor"],
    query: RecoRequestSchema,
    success: { status: 200, description: "{ impression_id, variant, model, degraded, items[] }" },
  },
  {
    method: "post",
    path: "/v1/recommendations",
    tag: "Recommendations",
    summary: "A ranked list (JSON body, long exclude lists)",
    security: ["publishableKey", "visitor"],
    body: { schema: RecoRequestSchema, example: { type: "similar", item: "sku-00042", k: 5, exclude: ["sku-00001"] } },
    success: { status: 200, description: "{ impression_id, variant, model, degraded, items[] }" },
  },
  {
    method: "get",
    path: "/v1/profile",
    tag: "Identity",
    summary: "The signed-in customer's profile",
    security: ["publishableKey", "visitor", "bearer"],
    success: { status: 200, description: "The profile view" },
  },
  {
    method: "delete",
    path: "/v1/subjects/{subject}",
    tag: "Privacy",
    summary: "Erase a subject (customer:…, email:…, visitor:…)",
    security: ["publishableKey", "bearer"],
    pathParams: ["subject"],
    success: { status: 202, description: "The erasure request" },
  },
  {
    method: "get",
    path: "/v1/subjects/erasures/{id}",
    tag: "Privacy",
    summary: "Status of an erasure",
    security: ["publishableKey", "bearer"],
    pathParams: ["id"],
    success: { status: 200, description: "The erasure's status" },
  },
  {
    method: "get",
    path: "/v1/subjects/retention",
    tag: "Privacy",
    summary: "Retention audit of the event log",
    security: ["publishableKey", "bearer"],
    success: { status: 200, description: "The audit" },
  },
  ...segmentOperations(),
  ...(["dashboard", "models", "drift", "experiments", "ingestion", "rollouts", "settings"] as const).map(
    (name): Operation => ({ method: "get", path: `/admin/api/${name}`, tag: ADMIN, summary: `Read ${name}`, security: ["publishableKey", "bearer"], success: { status: 200, description: name } }),
  ),
  {
    method: "post",
    path: "/admin/api/rollouts",
    tag: ADMIN,
    summary: "Start a staged rollout",
    security: ["publishableKey", "bearer"],
    body: { schema: StartRolloutSchema, example: { model: "demo/2", steps: [5, 25, 100] } },
    success: { status: 201, description: "The rollout" },
  },
  {
    method: "post",
    path: "/admin/api/rollouts/{id}/promote",
    tag: ADMIN,
    summary: "Promote a rollout to its next step",
    security: ["publishableKey", "bearer"],
    pathParams: ["id"],
    success: { status: 200, description: "The rollout" },
  },
  {
    method: "post",
    path: "/admin/api/rollouts/{id}/rollback",
    tag: ADMIN,
    summary: "Roll a rollout back",
    security: ["publishableKey", "bearer"],
    pathParams: ["id"],
    body: { schema: RollbackSchema, example: { reason: "CTR dropped" } },
    success: { status: 200, description: "The rollout" },
  },
  {
    method: "put",
    path: "/admin/api/experiments/current/weights",
    tag: ADMIN,
    summary: "Set variant weights",
    security: ["publishableKey", "bearer"],
    body: { schema: WeightsSchema, example: { weights: { control: 50, treatment: 50 } } },
    success: { status: 200, description: "{ config }" },
  },
  {
    method: "put",
    path: "/admin/api/settings",
    tag: ADMIN,
    summary: "Change drift thresholds",
    security: ["publishableKey", "bearer"],
    body: { schema: DriftSettingsPatchSchema, example: { min_count: 200 } },
    success: { status: 200, description: "The settings" },
  },
  { method: "get", path: "/admin", tag: "Pages", summary: "MLOps dashboard (HTML)", security: [], success: { status: 200, description: "HTML", contentType: "text/html" } },
  { method: "get", path: "/", tag: "Pages", summary: "Demo shop (HTML; only with DEMO_SHOP_KEY)", security: [], success: { status: 200, description: "HTML", contentType: "text/html" } },
  { method: "get", path: "/demo/shop.js", tag: "Pages", summary: "Demo shop script", security: [], success: { status: 200, description: "JavaScript", contentType: "text/javascript" } },
  { method: "get", path: "/demo/shop.css", tag: "Pages", summary: "Demo shop stylesheet", security: [], success: { status: 200, description: "CSS", contentType: "text/css" } },
  { method: "get", path: "/demo/catalog.json", tag: "Pages", summary: "Demo shop catalog", security: [], success: { status: 200, description: "{ items[] }" } },
  {
    method: "get",
    path: "/sdk/edgewise.js",
    tag: "Pages",
    summary: "Browser SDK, script-tag build (global Edgewise)",
    security: [],
    success: { status: 200, description: "JavaScript", contentType: "text/javascript" },
  },
  { method: "get", path: "/openapi.json", tag: "Pages", summary: "This document", security: [], success: { status: 200, description: "OpenAPI 3.1" } },
  { method: "get", path: "/docs", tag: "Pages", summary: "API docs (HTML)", security: [], success: { status: 200, description: "HTML", contentType: "text/html" } },
];

function segmentOperations(): Operation[] {
  const anon = "0d6b3b7e-6d1c-4a53-9a2f-3d1c7e0f6a11";
  const track = {
    type: "track",
    event: "Product Viewed",
    messageId: "ajs-next-1-a",
    anonymousId: anon,
    timestamp: T0,
    properties: { product_id: "sku-00001", category: "shoes/running", price: 172.99, currency: "EUR" },
  };
  const page = { type: "page", messageId: "ajs-next-1-b", anonymousId: anon, timestamp: T0, name: "Home", properties: { path: "/" } };
  const identify = { type: "identify", messageId: "node-next-1-c", anonymousId: anon, userId: "cust-42", traits: { email: "ada@example.com" } };
  const segment = (
    path: string,
    summary: string,
    schema: v.GenericSchema,
    example: unknown,
    items?: Operation["body"] extends infer B ? (B extends { items?: infer I } ? I : never) : never,
  ): Operation => ({
    method: "post",
    path,
    tag: "Segment-compatible API",
    summary,
    description:
      "Segment HTTP Tracking API: Basic auth with the write key as user name (a publishable key = browser source; the tenant's secret Segment write key = server source, needed for identify and Order Completed). messageId is the event id (idempotency key). Answers 200 with per-message results; a server source also gets `visitors` (anonymousId → visitor token).",
    security: ["segmentWriteKey"],
    body: { schema, example, contentTypes: ["application/json", "text/plain"], ...(items ? { items } : {}) },
    success: { status: 200, description: "{ success, accepted, duplicate, rejected, results[], visitors? }" },
  });
  const { type: _t, ...trackBody } = track;
  const { type: _p, ...pageBody } = page;
  const { type: _i, ...identifyBody } = identify;
  return [
    segment("/v1/batch", "Segment batch (≤ 500 KB, ≤ 32 KB per message)", SegmentBatchSchema, { sentAt: T0, batch: [track, page] }, { batch: SegmentMessageSchema }),
    segment("/v1/b", "Segment batch (analytics.js path)", SegmentBatchSchema, { sentAt: T0, batch: [track] }, { batch: SegmentMessageSchema }),
    ...(
      [
        ["track", "t", SegmentTrack, trackBody],
        ["page", "p", SegmentPage, pageBody],
        ["identify", "i", SegmentIdentify, identifyBody],
      ] as const
    ).flatMap(([name, short, schema, example]) => [
      segment(`/v1/${name}`, `Segment ${name}`, v.omit(schema, ["type"]), example),
      segment(`/v1/${short}`, `Segment ${name} (analytics.js path)`, v.omit(schema, ["type"]), example),
    ]),
  ];
}
