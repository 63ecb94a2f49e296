/**
 * Candidates per list of the benchmark model (tools/bench/bench-model.ts): the union its
 * generators hand the ranker for held-out synthetic visits of up to 20 views, through the
 * worker's own feature engine and `candidateMatrix` (Node, onnxruntime's Node build).
 */
import { applyEvent, initialState, materialise } from "../../src/features/engine";
import { candidateMatrix } from "../../src/models/ranker/ranker";
import { productView, viewTime } from "../../src/offline/eval/serving-path";
import { loadModelFolder } from "../../src/offline/serving/node-model";
import { generateCatalog } from "../../src/offline/synthetic/catalog";
import { generateSessions, viewSequences } from "../../src/offline/synthetic/sessions";
import { BENCH_MODEL } from "./bench-model";

const ENGINE = { sessionGapMs: 1800 * 1000 };

export async function candidatesPerList(dir: string, visits = 300): Promise<{ lists: number; mean: number; median: number; min: number; max: number }> {
  const model = (await loadModelFolder(dir)) as unknown as { ranker: Parameters<typeof candidateMatrix>[0] | null };
  if (!model.ranker) throw new Error(`${dir} has no ranker`);
  const catalog = generateCatalog(BENCH_MODEL.seed, { items: BENCH_MODEL.items, categories: BENCH_MODEL.categories });
  const shop = { byId: new Map(catalog.items.map((i) => [i.item_id, { item_id: i.item_id, category: i.category, price: i.price }])) };
  // Another seed's sessions over the same catalog: visits the model was not trained on.
  const sessions = viewSequences(generateSessions(catalog, BENCH_MODEL.seed + 1, { sessions: visits })).filter((s) => s.length >= 2);
  const sizes: number[] = [];
  for (const s of sessions) {
    const n = Math.min(s.length, 20);
    let state = initialState();
    for (let i = 0; i < n; i++) state = applyEvent(state, productView(s[i]!, i, shop), ENGINE);
    const m = await candidateMatrix(model.ranker, materialise(state, viewTime(n) + 1000, ENGINE), { catalog: shop, trending: null });
    sizes.push(m.candidates.length);
  }
  sizes.sort((a, b) => a - b);
  return { lists: sizes.length, mean: Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length), median: sizes[sizes.length >> 1]!, min: sizes[0]!, max: sizes.at(-1)! };
}
