import { Hono } from "hono";
import type { AppEnv } from "../http/types";
import { openApiDocument } from "./document";

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
const STYLE = `body{margin:0;font:15px/1.5 system-ui,sans-serif;color:#1f2328;background:#f6f8fa}main{max-width:1000px;margin:0 auto;padding:16px 20px 60px}
h1{font-size:24px}h2{font-size:19px;margin-top:28px;border-bottom:1px solid #d0d7de}section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:10px 14px;margin:10px 0}
.m{display:inline-block;min-width:64px;font-weight:700;text-transform:uppercase;font-size:13px}.get{color:#1a7f37}.post{color:#0969da}.put{color:#9a6700}.delete{color:#cf222e}
code,pre{font:13px ui-monospace,monospace}pre{background:#f6f8fa;padding:8px;overflow-x:auto;border-radius:6px}details summary{cursor:pointer;color:#57606a}`;

let page: { html: string; csp: string } | null = null;

async function docsPage(): Promise<{ html: string; csp: string }> {
  if (page) return page;
  const doc = openApiDocument() as {
    info: { title: string; description: string };
    paths: Record<
      string,
      Record<
        string,
        {
          tags: string[];
          summary: string;
          description?: string;
          security: Array<Record<string, unknown>>;
          parameters: Array<{ name: string; in: string; schema: unknown }>;
          requestBody?: { content: Record<string, { schema: unknown; example: unknown }> };
        }
      >
    >;
  };
  const byTag = new Map<string, string[]>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const body = op.requestBody ? Object.entries(op.requestBody.content)[0]! : null;
      const auth = op.security.flatMap((s) => Object.keys(s)).join(", ") || "none";
      const html = `<section id="${esc(method + path)}"><div><span class="m ${method}">${method}</span> <code>${esc(path)}</code> — ${esc(op.summary)}</div>
${op.description ? `<p>${esc(op.description)}</p>` : ""}<p>Auth: <code>${esc(auth)}</code>${op.parameters.length ? ` · Parameters: ${op.parameters.map((p) => `<code>${esc(p.name)}</code> (${p.in})`).join(", ")}` : ""}</p>
${body ? `<p>Body (<code>${esc(body[0])}</code>), example:</p><pre>${esc(JSON.stringify(body[1].example, null, 2))}</pre><details><summary>JSON Schema</summary><pre>${esc(JSON.stringify(body[1].schema, null, 2))}</pre></details>` : ""}</section>`;
      const tag = op.tags[0]!;
      byTag.set(tag, [...(byTag.get(tag) ?? []), html]);
    }
  }
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(doc.info.title)}</title><link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body><main><h1>${esc(doc.info.title)}</h1><p>${esc(doc.info.description)}</p><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1, generated from the request schemas). Every error is <code>{"error":{"code","message"}}</code>.</p>
${[...byTag].map(([tag, ops]) => `<h2>${esc(tag)}</h2>${ops.join("\n")}`).join("\n")}</main></body></html>`;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(STYLE)));
  page = { html, csp: `default-src 'none'; style-src 'sha256-${btoa(String.fromCharCode(...digest))}'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'` };
  return page;
}

/** `GET /openapi.json` and `GET /docs` (a readable page of the same document). */
export const openApiRoute = new Hono<AppEnv>()
  .get("/openapi.json", (c) => c.json(openApiDocument(), 200, { "access-control-allow-origin": "*", "cache-control": "public, max-age=300" }))
  .get("/docs", async (c) => {
    const { html, csp } = await docsPage();
    c.header("content-security-policy", csp);
    c.header("x-content-type-options", "nosniff");
    return c.html(html);
  });
