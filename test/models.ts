import { env } from "cloudflare:workers";
import type { ExperimentConfig } from "../src/experiments/config";
import { SEQ_LEN } from "../src/models/inputs";
import { type SessionTopKWeights, type VersionInfo, buildModelVersion } from "../src/offline/export/model-version";

/**
 * A hand-built "next item" model over `n` items sku-01…: item i's input
 * embedding is the unit vector e_i and item j's output embedding is e_{j−1}, so
 * the logit of item j is the session weight of item j − 1. A tiny decreasing
 * bias breaks ties by item order. Expected rankings can be computed by hand.
 */
export function chainWeights(n = 40): SessionTopKWeights {
  const dim = n + 1;
  const items = Array.from({ length: n }, (_, i) => `sku-${String(i + 1).padStart(2, "0")}`);
  const embIn = new Float32Array((n + 1) * dim);
  const embOut = new Float32Array((n + 1) * dim);
  const bias = new Float32Array(n + 1);
  for (let i = 1; i <= n; i++) {
    embIn[i * dim + i] = 1;
    embOut[i * dim + (i - 1)] = 1;
    bias[i] = -0.001 * i;
  }
  bias[0] = -1e9;
  return { items, dim, embIn, embOut, bias };
}

/** Writes a model version built from `weights` to the MODELS bucket; returns its id. */
export async function publishTestModel(
  name: string,
  version: string,
  weights: SessionTopKWeights,
  tamper?: (files: Record<string, Uint8Array>) => void,
  candidates?: VersionInfo["candidates"],
): Promise<string> {
  const { files } = await buildModelVersion(weights, {
    candidates,
    name,
    version,
    createdAt: new Date().toISOString(),
    training: { data: "hand-built test model", window: null, sessions: 0, examples: 0 },
    metrics: {},
    trainingInputs: [{ idx: new Array(SEQ_LEN).fill(0), w: new Array(SEQ_LEN).fill(0) }],
    popular: [...weights.items].reverse().slice(0, 10),
  });
  tamper?.(files);
  for (const [file, bytes] of Object.entries(files)) await env.MODELS.put(`models/${name}/${version}/${file}`, bytes);
  return `${name}/${version}`;
}

/** Sets a tenant's experiment config. */
export async function setTenantConfig(tenant: string, config: ExperimentConfig): Promise<void> {
  await env.MODELS.put(`tenants/${tenant}/experiments.json`, JSON.stringify(config));
}

/** Sets a tenant's catalog. */
export async function setCatalog(tenant: string, items: Array<Record<string, unknown>>): Promise<void> {
  await env.MODELS.put(`tenants/${tenant}/catalog.json`, JSON.stringify({ items }));
}
