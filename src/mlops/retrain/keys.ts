/**
 * Where `npm run retrain` records its runs and the worker parks retrain requests, in the
 * models bucket. Plain strings, no platform types: the offline scheduler side
 * (src/offline/retrain/pending.ts) reads the same keys.
 */
export const runsPrefix = (tenant: string) => `retrain/${tenant}/runs/`;
export const requestsPrefix = (tenant: string) => `retrain/${tenant}/requests/`;
export const requestKey = (tenant: string, model: string, windowFrom: number) => `${requestsPrefix(tenant)}${model.replace("/", "@")}-${windowFrom}.json`;
