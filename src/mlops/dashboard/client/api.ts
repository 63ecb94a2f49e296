import type { ErrorEnvelope } from "../../../http/errors";
import type { DashboardData } from "../../monitor/dashboard-data";

// The admin API as the page calls it: the shop's publishable key and the admin token,
// kept in sessionStorage (gone when the tab closes), on every call to its own origin.

const KEY = "edgewise.admin.key";
const TOKEN = "edgewise.admin.token";

/** The rollout actions the page's buttons post. */
export type RolloutAction = `/admin/api/rollouts/${string}/${"promote" | "rollback"}`;

/** A call's outcome: the body, or a problem in words (`signedOut`: the credentials were refused). */
export type Reply<T> = { ok: true; body: T } | { ok: false; problem: string; signedOut: boolean };

export const credentials = {
  present: (): boolean => Boolean(sessionStorage.getItem(KEY) && sessionStorage.getItem(TOKEN)),
  save(key: string, token: string): void {
    sessionStorage.setItem(KEY, key);
    sessionStorage.setItem(TOKEN, token);
  },
  clear(): void {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(TOKEN);
  },
};

function headers(json: boolean): Record<string, string> {
  const h: Record<string, string> = { "x-edgewise-key": sessionStorage.getItem(KEY) || "", authorization: `Bearer ${sessionStorage.getItem(TOKEN) || ""}` };
  if (json) h["content-type"] = "application/json";
  return h;
}

/** `GET /admin/api/dashboard?hours=…`: everything the page shows. */
export function fetchDashboard(hours: string): Promise<Reply<DashboardData>> {
  return call(`/admin/api/dashboard?hours=${encodeURIComponent(hours)}`, { headers: headers(false) });
}

/** `POST` a rollout action; the page reloads its data after it, so the body is not read. */
export function postAction(path: RolloutAction, body: { reason?: string }): Promise<Reply<unknown>> {
  return call(path, { method: "POST", headers: headers(true), body: JSON.stringify(body) });
}

// Rejects only when the service cannot be reached. The body's type is the server's
// (src/mlops/monitor/dashboard-data.ts): the page reads its own worker's API.
async function call<T>(path: string, init: RequestInit): Promise<Reply<T>> {
  const res = await fetch(path, init);
  const body: unknown = await res.json().catch(() => null);
  if (res.ok) return { ok: true, body: body as T };
  const error = errorOf(body);
  const code = error ? error.code : `http_${res.status}`;
  const message = error ? error.message : res.statusText;
  if (res.status === 401 || res.status === 403) return { ok: false, problem: `Sign-in refused (${code}): ${message}`, signedOut: true };
  return { ok: false, problem: `Request failed (${code}): ${message}`, signedOut: false };
}

function errorOf(body: unknown): ErrorEnvelope["error"] | null {
  if (typeof body !== "object" || body === null || !("error" in body) || !body.error) return null;
  return (body as ErrorEnvelope).error;
}
