import { Hono } from "hono";
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/types";
import { tenantCatalog } from "../recommend/sources";
import { SHOP_CSS, shopHtml } from "./page";
import { SHOP_SCRIPT } from "./script";
import { SDK_SCRIPT } from "./sdk.generated";

/** Only this tenant's shop is ever served at `/`: it is a demo, not a storefront product. */
const DEMO_TENANT = "demo";
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function demoKey(c: { env: Env; get: (k: "config") => AppEnv["Variables"]["config"] }): string {
  const key = c.env.DEMO_SHOP_KEY ?? "";
  const tenant = key ? c.get("config").tenantsByKey.get(key) : undefined;
  if (!tenant || tenant.id !== DEMO_TENANT) throw new ApiError(404, "not_found", "No demo shop here: set DEMO_SHOP_KEY to the demo tenant's publishable key (npm run dev does)");
  return key;
}

/**
 * `GET /`: the demo shop (off unless `DEMO_SHOP_KEY` names the demo tenant's key), and
 * `GET /sdk/edgewise.js`: the browser SDK's script-tag build, served for every shop.
 */
export const demoShopRoute = new Hono<AppEnv>()
  .get("/", (c) => {
    const key = demoKey(c);
    c.header("content-security-policy", CSP);
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "no-referrer");
    return c.html(shopHtml(key));
  })
  .get("/demo/shop.js", (c) => {
    demoKey(c);
    return c.body(SHOP_SCRIPT, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" });
  })
  .get("/demo/shop.css", (c) => {
    demoKey(c);
    return c.body(SHOP_CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "no-cache" });
  })
  .get("/demo/catalog.json", async (c) => {
    demoKey(c);
    const catalog = await tenantCatalog(c.env, DEMO_TENANT, c.get("config").registryRefreshMs);
    const items = [...(catalog?.byId.values() ?? [])].filter((i) => !i.hidden).map(({ item_id, name, category, price, currency }) => ({ item_id, name, category, price, currency }));
    return c.json({ items });
  })
  .get("/sdk/edgewise.js", (c) => c.body(SDK_SCRIPT, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=300", "access-control-allow-origin": "*" }));
