/** What a token may do. Browser calls with only the publishable key hold none of these. */
export const SCOPES = ["events:write", "identify", "recommendations:read", "privacy:erase", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** Scopes a customer-bound token (handed to a storefront) may carry; the rest are backend-only. */
export const CUSTOMER_SCOPES: ReadonlySet<Scope> = new Set(["events:write", "identify", "recommendations:read"]);

/** Who a verified token speaks for. */
export interface Principal {
  /** `backend`: the shop's server, acting for the tenant; `customer`: one signed-in customer. */
  kind: "backend" | "customer";
  /** The token's `sub`. */
  subject: string;
  scopes: ReadonlySet<Scope>;
  /** For customer tokens: the customer id (clear, as the shop knows it) the token is bound to. */
  customerId: string | null;
}

/** Parses an OAuth-style `scope` claim (space-separated) or `scp` array; unknown scopes are ignored. */
export function parseScopes(scope: unknown, scp: unknown): Set<Scope> {
  const raw = typeof scope === "string" ? scope.split(" ") : Array.isArray(scp) ? scp : [];
  const known = new Set<string>(SCOPES);
  return new Set(raw.filter((s): s is Scope => typeof s === "string" && known.has(s)));
}
