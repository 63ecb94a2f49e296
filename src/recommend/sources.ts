import { type Catalog, catalogKey, parseCatalog } from "../catalog/catalog";
import { type ExperimentConfig, parseTenantConfig, tenantConfigKey } from "../experiments/config";
import { cachedJson } from "../registry/r2-json";
import { type SharedLoad, awaitShared, isAbandoned, shareLoad } from "../registry/shared-load";
import { type FreshNeighbours, freshNeighbours } from "../models/ranker/fresh";
import type { Scored } from "./rules";

/** How many trending items an isolate keeps per tenant (enough for backfill after rules). */
const TRENDING_DEPTH = 200;
/** How long a request waits for a read another request started (one Durable Object call; design 0030). */
const READ_MAX_MS = 10_000;
const trendingCache = new Map<string, { at: number; list: SharedLoad<Scored[]> }>();

/** The tenant's experiment config from R2 (cached per isolate), or `null` if none is published. */
export function tenantConfig(env: Env, tenant: string, ttlMs: number): Promise<ExperimentConfig | null> {
  return cachedJson(env.MODELS, tenantConfigKey(tenant), ttlMs, parseTenantConfig);
}

/** The tenant's catalog from R2 (cached per isolate), or `null` if none is published. */
export function tenantCatalog(env: Env, tenant: string, ttlMs: number): Promise<Catalog | null> {
  return cachedJson(env.MODELS, catalogKey(tenant), ttlMs, parseCatalog);
}

/** The tenant's trending items right now (cached per isolate for `ttlMs`). */
export function trending(env: Env, tenant: string, ttlMs: number): Promise<Scored[]> {
  const now = Date.now();
  const hit = trendingCache.get(tenant);
  if (hit && now - hit.at < ttlMs && !isAbandoned(hit.list)) return awaitShared(hit.list);
  const list = env.TRENDING.getByName(tenant).top(TRENDING_DEPTH, now);
  const entry = { at: now, list: shareLoad(list, READ_MAX_MS) };
  trendingCache.set(tenant, entry);
  list.catch(() => trendingCache.get(tenant) === entry && trendingCache.delete(tenant));
  return list;
}

const freshCache = new Map<string, { at: number; table: SharedLoad<FreshNeighbours> }>();

/**
 * The tenant's streaming co-visitation (design 0028), cached per isolate for `ttlMs` like
 * trending: one FreshDO read per tenant and refresh, none per request in between.
 */
export function freshTable(env: Env, tenant: string, ttlMs: number): Promise<FreshNeighbours> {
  const now = Date.now();
  const hit = freshCache.get(tenant);
  if (hit && now - hit.at < ttlMs && !isAbandoned(hit.table)) return awaitShared(hit.table);
  // Started inside a promise, so a missing binding or a failing stub is a rejection the caller degrades on, never a throw.
  const table = Promise.resolve()
    .then(() => env.FRESH.getByName(tenant).table())
    .then((t) => freshNeighbours(t));
  const entry = { at: now, table: shareLoad(table, READ_MAX_MS) };
  freshCache.set(tenant, entry);
  table.catch(() => freshCache.get(tenant) === entry && freshCache.delete(tenant));
  return table;
}
