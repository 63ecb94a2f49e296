import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { app } from "../src/app";
import { OPERATIONS } from "../src/openapi/operations";
import { call } from "./helpers";

type Doc = { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { example: unknown; schema: Record<string, unknown> }> } }>> };

async function doc(): Promise<Doc> {
  const res = await call("/openapi.json");
  expect(res.status).toBe(200);
  return (await res.json()) as Doc;
}

/** The app's own routes, as OpenAPI paths ("/v1/subjects/:id" → "/v1/subjects/{id}"); middleware and 405 catch-alls are not operations. */
function appRoutes(): string[] {
  const routes = app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method.toLowerCase()} ${(r.path.replace(/\/+$/, "") || "/").replace(/:([A-Za-z_]+)/g, "{$1}")}`);
  return [...new Set(routes)].sort();
}

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1 and lists exactly the app's routes", async () => {
    const d = await doc();
    expect(d.openapi).toBe("3.1.0");
    const documented = Object.entries(d.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`))
      .sort();
    expect(appRoutes().length).toBeGreaterThan(30);
    expect(documented).toEqual(appRoutes());
  });

  it("every example validates against the schema its route validates with", async () => {
    const d = await doc();
    let checked = 0;
    for (const [path, ops] of Object.entries(d.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!op.requestBody) continue;
        const source = OPERATIONS.find((o) => o.path === path && o.method === method)!;
        for (const content of Object.values(op.requestBody.content)) {
          const result = v.safeParse(source.body!.schema, content.example);
          expect(result.success, `${method} ${path}: ${result.success ? "" : v.summarize(result.issues)}`).toBe(true);
          for (const [prop, itemSchema] of Object.entries(source.body!.items ?? {})) {
            const items = (content.example as Record<string, unknown[]>)[prop]!;
            expect(items.length).toBeGreaterThan(0);
            for (const item of items) expect(v.safeParse(itemSchema, item).success, `${method} ${path} ${prop}[]: ${JSON.stringify(item)}`).toBe(true);
          }
          // The document's schema is the generated one, not a hand-written stand-in.
          expect(content.schema.type).toBe("object");
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });

  it("the events body schema carries the strict per-type event schemas", async () => {
    const events = (await doc()).paths["/v1/events"]!.post!.requestBody!.content["application/json"]!.schema as {
      properties: { events: { items: { oneOf?: Array<{ properties: { type: { const: string } }; additionalProperties: boolean }>; anyOf?: unknown } } };
    };
    const variants = events.properties.events.items.oneOf ?? (events.properties.events.items.anyOf as typeof events.properties.events.items.oneOf)!;
    expect(variants.map((x) => x.properties.type.const).sort()).toEqual([
      "add_to_cart",
      "consent",
      "identify",
      "page_view",
      "product_view",
      "purchase",
      "recommendation_click",
      "remove_from_cart",
      "search",
    ]);
    expect(variants.every((x) => x.additionalProperties === false)).toBe(true);
  });

  it("/docs renders every operation, under a strict CSP", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await res.text();
    for (const path of Object.keys((await doc()).paths)) expect(html).toContain(`<code>${path.replace(/&/g, "&#38;")}</code>`);
  });
});
