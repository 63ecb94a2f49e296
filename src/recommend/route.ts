import { type Context, Hono } from "hono";
import { optionalToken } from "../auth/backend";
import { tenantAuth } from "../auth/tenant";
import { visitorIdentity } from "../auth/visitor";
import { assignVariant } from "../experiments/assign";
import type { FeatureVector } from "../features/engine";
import { readJsonBody, requireJson } from "../http/body";
import { ApiError } from "../http/errors";
import { serverTiming, timed } from "../http/timing";
import type { AppEnv } from "../http/types";
import { ModelLoadError } from "../models/errors";
import { familyFreshState } from "../models/families/index";
import { type LoadedModel, loadModel } from "../models/registry";
import { effectivePurposes, gpcHeader } from "../privacy/consent";
import { customerHash } from "../privacy/pseudonymise";
import { withProfile } from "../profile/profile";
import { profileStore } from "../profile/select";
import { sessionStub } from "../session/stub";
import { impressionMessage, logImpression, takePendingImpressions } from "./impression";
import { type PersonContext, readPerson } from "./person";
import { type RecoRequest, parseBody, parseQuery } from "./params";
import { recommend } from "./recommend";
import { freshTable, tenantCatalog, tenantConfig, trending } from "./sources";

/** Header that forces a variant (QA, CDN-level routing); every response names the variant in it. */
export const VARIANT_HEADER = "x-edgewise-variant";
const FEATURES_TIMEOUT_MS = 1000;

/** `GET|POST /v1/recommendations`: a ranked list for the calling visitor. */
export const recommendationsRoute = new Hono<AppEnv>()
  .get("/", tenantAuth(), visitorIdentity(), optionalToken(), (c) => serve(c, parseQuery(c.req.query())))
  .post("/", tenantAuth(), visitorIdentity(), optionalToken(), async (c) => {
    requireJson(c);
    return serve(c, parseBody(await readJsonBody(c, 64 * 1024)));
  });

async function serve(c: Context<AppEnv>, request: RecoRequest): Promise<Response> {
  const { config, tenant, visitorId, visitorIssued, log } = c.var;
  const ttl = config.registryRefreshMs;
  const now = Date.now();

  const tenantCfg = await tenantConfig(c.env, tenant.id, ttl).catch((err: unknown) => {
    log.error("tenant_config_invalid", { tenant: tenant.id, error: String(err) });
    return null;
  });
  const assigned = assignVariant(tenantCfg, visitorId, c.req.header(VARIANT_HEADER));
  if (!assigned.ok) {
    throw new ApiError(400, "unknown_variant", `Unknown variant ${JSON.stringify(assigned.unknownVariant).slice(0, 80)}; known: ${assigned.known.join(", ")}`);
  }
  const { experiment, variant, via } = assigned.assignment;
  // Anyone with the publishable key can force a variant (QA): such lists are marked and kept out of the
  // experiment's statistics and the rollout guard rails, so one browser cannot skew a result or roll a
  // model back. Routing by header from the shop's own edge (with a backend token) is real traffic and counts.
  const forced = via === "header" && c.var.principal?.kind !== "backend";
  c.header(VARIANT_HEADER, variant.name);
  const time = <T>(name: string, fn: () => Promise<T>) => timed(c, name, fn);

  const modelLoad = variant.model
    ? time("model", () => loadModel(c.env.MODELS, variant.model!)).catch((err: unknown) => {
        log.error("model_unavailable", { model: variant.model, code: err instanceof ModelLoadError ? err.code : "unknown", error: String(err) });
        return null;
      })
    : Promise.resolve<LoadedModel | null>(null);
  // Fresh items (design 0028): read (cached) only for a version whose ranker declares the generator.
  const freshLoad = modelLoad.then((m) =>
    m && familyFreshState(m)
      ? freshTable(c.env, tenant.id, ttl).catch((err: unknown) => {
          log.warn("fresh_unavailable", { tenant: tenant.id, error: String(err) });
          return null;
        })
      : null,
  );
  const [features, model, catalog, trendingItems, fresh] = await Promise.all([
    visitorIssued
      ? Promise.resolve<FeatureVector | null>(null)
      : time("features", () => withTimeout(sessionStub(c.env, tenant.id, visitorId).features(now, takePendingImpressions(tenant.id, visitorId)), FEATURES_TIMEOUT_MS)).catch((err: unknown) => {
          log.warn("features_unavailable", { error: String(err) });
          return "failed" as const;
        }),
    modelLoad,
    tenantCatalog(c.env, tenant.id, ttl).catch((err: unknown) => {
      log.error("catalog_invalid", { tenant: tenant.id, error: String(err) });
      return null;
    }),
    trending(c.env, tenant.id, ttl).catch(() => []),
    freshLoad,
  ]);

  // Consent: without `personalization` nothing about this visitor shapes the list. The person (consent,
  // profile) is read once, and only when it can matter: a signed-in customer on a device that declared
  // nothing follows the person's own consent; any identified visitor with personalization gets the profile.
  const declared = features === "failed" ? null : (features?.consent ?? null);
  const consentCtx = { mode: tenant.consent, gpc: gpcHeader(c.req.header("sec-gpc")) };
  const fromToken = c.var.principal?.kind === "customer" ? { customer_hash: await customerHash(config.piiSecret, tenant.id, c.var.principal.customerId), email_hash: null } : null;
  const identity = fromToken ?? (features === "failed" ? null : (features?.identity ?? null));
  const decidedWithoutPerson = declared !== null || fromToken === null;
  const person: PersonContext =
    identity === null || (decidedWithoutPerson && !effectivePurposes(declared, consentCtx).personalization)
      ? { found: false }
      : await time("profile", () => readPerson(profileStore(c.env, config), tenant.id, identity, visitorId, now, log));
  const personConsent = declared === null && fromToken !== null && person.found ? person.consent : null;
  const purposes = effectivePurposes(declared ?? personConsent, consentCtx);
  const sessionFeatures = features === "failed" || !purposes.personalization ? null : features;
  const profile = { view: purposes.personalization && person.found ? person.view : null, failed: purposes.personalization && "failed" in person };
  const result = await recommend({
    request,
    features: profile.view ? withProfile(sessionFeatures, profile.view) : sessionFeatures,
    featuresFailed: features === "failed",
    noConsent: !purposes.personalization && features !== "failed",
    profileFailed: profile.failed,
    model,
    modelProblem: variant.model ? (model ? null : "model_unavailable") : "no_model_configured",
    params: variant.params,
    catalog,
    trending: trendingItems,
    fresh,
    time,
  });

  const impressionId = crypto.randomUUID();
  const items = result.items.map((s, i) => {
    const item = catalog?.byId.get(s.item_id);
    return { item_id: s.item_id, score: Math.round(s.score * 1e4) / 1e4, position: i + 1, name: item?.name, category: item?.category, price: item?.price };
  });
  if (items.length > 0) {
    const message = impressionMessage({
      tenant: tenant.id,
      visitor_id: visitorId,
      impression_id: impressionId,
      served_at: now,
      type: request.type,
      experiment: forced ? null : experiment,
      ...(forced ? { forced: true as const } : {}),
      variant: variant.name,
      model: model?.id ?? null,
      degraded: result.degraded,
      latency_ms: Date.now() - now,
      features: result.servedFeatures,
      items: items.map(({ item_id, position, score }) => ({ item_id, position, score })),
    });
    if (purposes.analytics || purposes.personalization) {
      logImpression(c.executionCtx, c.env, message, !visitorIssued && purposes.personalization, log, purposes.analytics);
    }
  }
  c.header("server-timing", serverTiming(c.get("timings")));
  return c.json({
    impression_id: impressionId,
    type: request.type,
    experiment,
    variant: variant.name,
    ...(forced ? { forced: true } : {}),
    model: model?.id ?? null,
    degraded: result.degraded,
    profile_used: profile.view !== null,
    items,
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
