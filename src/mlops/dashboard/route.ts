import { Hono } from "hono";
import type { AppEnv } from "../../http/types";
import { DASHBOARD_HTML, DASHBOARD_STYLE } from "./page";
import { DASHBOARD_SCRIPT } from "./script.generated";

let csp: Promise<string> | null = null;

/** A strict CSP: only this page's own script and style (by hash) run, and it talks only to its own origin. */
function contentSecurityPolicy(): Promise<string> {
  csp ??= Promise.all([sha256Base64(DASHBOARD_SCRIPT), sha256Base64(DASHBOARD_STYLE)]).then(
    ([script, style]) =>
      `default-src 'none'; script-src 'sha256-${script}'; style-src 'sha256-${style}'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  );
  return csp;
}

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}

/** `GET /admin`: the dashboard page (public markup; every number comes from the authenticated API). */
export const dashboardRoute = new Hono<AppEnv>().get("/", async (c) => {
  c.header("content-security-policy", await contentSecurityPolicy());
  c.header("x-content-type-options", "nosniff");
  c.header("referrer-policy", "no-referrer");
  c.header("cache-control", "no-store");
  return c.html(DASHBOARD_HTML);
});
