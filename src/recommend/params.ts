import * as v from "valibot";
import { looksLikeEmail } from "../privacy/scrub";
import { ApiError } from "../http/errors";

/** Recommendation list types. */
export const RECO_TYPES = ["personalized", "similar", "cart", "trending"] as const;
export type RecoType = (typeof RECO_TYPES)[number];

/** Limits of a recommendation request. */
export const RECO_LIMITS = { maxK: 100, defaultK: 10, maxExcludeGet: 100, maxExcludePost: 1000 } as const;

// Item ids end up in the impression log: one that is an email address would be PII in the clear.
const itemId = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(128),
  v.check((s) => !looksLikeEmail(s), "item ids cannot contain an email address"),
);
export const RequestSchema = v.strictObject({
  type: v.optional(v.picklist(RECO_TYPES, `type must be one of ${RECO_TYPES.join(", ")}`), "personalized"),
  k: v.optional(v.pipe(v.number(), v.integer("k must be an integer"), v.minValue(1), v.maxValue(RECO_LIMITS.maxK)), RECO_LIMITS.defaultK),
  item: v.optional(itemId),
  exclude: v.optional(v.pipe(v.array(itemId), v.maxLength(RECO_LIMITS.maxExcludePost)), []),
});

/** A validated recommendation request. */
export interface RecoRequest {
  type: RecoType;
  k: number;
  item?: string;
  exclude: Set<string>;
}

/** Parses `?type=&k=&item=&exclude=a,b` (GET). */
export function parseQuery(query: Record<string, string>): RecoRequest {
  const known = new Set(["type", "k", "item", "exclude", "key"]);
  const unknown = Object.keys(query).filter((q) => !known.has(q));
  if (unknown.length > 0) throw invalid(`unknown parameter ${unknown[0]}`);
  const exclude = query.exclude ? query.exclude.split(",").filter(Boolean) : [];
  if (exclude.length > RECO_LIMITS.maxExcludeGet) {
    throw invalid(`at most ${RECO_LIMITS.maxExcludeGet} excluded items in a GET; POST the request for up to ${RECO_LIMITS.maxExcludePost}`);
  }
  const k = query.k === undefined ? undefined : /^\d+$/.test(query.k) ? Number(query.k) : NaN;
  return parse({ type: query.type, k, item: query.item, exclude });
}

/** Parses a JSON body `{ type, k, item, exclude: [ … ] }` (POST). */
export function parseBody(body: unknown): RecoRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalid("body must be a JSON object");
  return parse(body as Record<string, unknown>);
}

function parse(input: Record<string, unknown>): RecoRequest {
  const defined = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
  const parsed = v.safeParse(RequestSchema, defined, { abortPipeEarly: true });
  if (!parsed.success) {
    const issue = parsed.issues[0]!;
    const path = v.getDotPath(issue);
    throw invalid(path ? `${path}: ${issue.message}` : issue.message);
  }
  const { type, k, item, exclude } = parsed.output;
  if (type === "similar" && item === undefined) throw invalid("type=similar needs item=<item id>");
  return { type, k, item, exclude: new Set(exclude) };
}

function invalid(message: string): ApiError {
  return new ApiError(400, "invalid_parameter", message);
}
