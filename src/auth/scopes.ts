/** What a token may do. Browser calls with only the publishable key hold none of these. */
export const SCOPES = ["events:write", "identify", "recommendations:read", "privacy:erase", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** Scopes a customer-bound token (handed to a storefront) may carry; the rest are backend-only. */
export const CUSTOMER_SCOPES: ReadonlySet<Scope> = new Set(["events:write", "identify", "recommendations:read"]);

/** Longest customer id a token may carry: longer ones are refused, never cut (two cut ids could collide). */
export const MAX_CUSTOMER_ID_LENGTH = 256;

/** What a backend token (the shop's server, acting for the tenant) and a customer token share. */
interface PrincipalBase {
  /** The token's `sub`. */
  subject: string;
  scopes: ReadonlySet<Scope>;
}

/**
 * Who a verified token speaks for. A token is a customer token exactly when it
 * carries a `customer_id` claim; a claim of the wrong type is a 401, never a
 * backend token by default.
 */
export type Principal =
  | (PrincipalBase & { kind: "backend"; customerId: null })
  | (PrincipalBase & {
      kind: "customer";
      /** The customer id (clear, as the shop knows it) the token is bound to. */
      customerId: string;
      /**
       * Identifiers the shop signed into the token with the customer (`email`, `device_id` claims):
       * the only ones a customer token's identify may link to the customer. Anything else it
       * names is recorded as an unproven claim, never merged (design 0012).
       */
      proven: { email: string | null; deviceId: string | null };
    });

/** Parses an OAuth-style `scope` claim (space-separated) or `scp` array; unknown scopes are ignored. */
export function parseScopes(scope: unknown, scp: unknown): Set<Scope> {
  const raw = typeof scope === "string" ? scope.split(" ") : Array.isArray(scp) ? scp : [];
  const known = new Set<string>(SCOPES);
  return new Set(raw.filter((s): s is Scope => typeof s === "string" && known.has(s)));
}
