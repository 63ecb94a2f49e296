import { toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { ERROR_CODES, ErrorEnvelopeSchema, OPERATIONS, type Operation } from "./operations";

type Json = Record<string, unknown>;

/** JSON Schema (2020-12, as OpenAPI 3.1 uses) of a valibot schema; checks and transforms have no JSON Schema form and are described in words instead. */
export function jsonSchema(schema: v.GenericSchema): Json {
  const out = toJsonSchema(schema, { target: "draft-2020-12", errorMode: "ignore", typeMode: "input" }) as Json;
  delete out.$schema;
  return out;
}

function bodySchema(body: NonNullable<Operation["body"]>): Json {
  const schema = jsonSchema(body.schema);
  for (const [prop, items] of Object.entries(body.items ?? {})) {
    const p = (schema.properties as Record<string, Json>)[prop]!;
    p.items = jsonSchema(items);
  }
  return schema;
}

const SECURITY = {
  publishableKey: { type: "apiKey", in: "header", name: "x-edgewise-key", description: "The tenant's publishable key (public). `?key=` works too." },
  visitor: { type: "apiKey", in: "header", name: "x-edgewise-visitor", description: "The signed visitor token (or the ew_vid cookie); issued on the first call." },
  bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "A token signed by the shop (scopes: events:write, identify, recommendations:read, privacy:erase, admin)." },
  segmentWriteKey: { type: "http", scheme: "basic", description: "Segment style: the write key as user name, empty password." },
};

let cached: Json | null = null;

/** The OpenAPI 3.1 document, built once per isolate from the schemas the routes validate with. */
export function openApiDocument(): Json {
  if (cached) return cached;
  const paths: Record<string, Record<string, Json>> = {};
  for (const op of OPERATIONS) {
    const errors = { description: `Error envelope; code is one of ${ERROR_CODES.length} stable codes`, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
    const operation: Json = {
      tags: [op.tag],
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      operationId: `${op.method}${op.path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, ch: string | undefined) => (ch ?? "").toUpperCase())}` || "getRoot",
      security: op.security.length === 0 ? [] : [Object.fromEntries(op.security.map((s) => [s, []]))],
      parameters: [
        ...(op.pathParams ?? []).map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })),
        ...Object.entries(op.query ? ((jsonSchema(op.query).properties as Record<string, Json>) ?? {}) : {}).map(([name, schema]) => ({
          name,
          in: "query",
          required: false,
          schema: schema.type === "array" ? { type: "string", description: "comma-separated" } : schema,
        })),
      ],
      ...(op.body
        ? { requestBody: { required: true, content: Object.fromEntries((op.body.contentTypes ?? ["application/json"]).map((t) => [t, { schema: bodySchema(op.body!), example: op.body!.example }])) } }
        : {}),
      responses: {
        [String(op.success.status)]: { description: op.success.description, ...(op.success.contentType ? { content: { [op.success.contentType]: {} } } : {}) },
        "4XX": errors,
        "5XX": errors,
      },
    };
    (paths[op.path] ??= {})[op.method] = operation;
  }
  cached = {
    openapi: "3.1.0",
    info: { title: "Edgewise API", version: "0.1.0", description: "Edge-native real-time personalization: events, recommendations, identity, privacy, MLOps, and a Segment-compatible ingestion API." },
    paths,
    components: { schemas: { Error: jsonSchema(ErrorEnvelopeSchema) }, securitySchemes: SECURITY },
  };
  return cached;
}
