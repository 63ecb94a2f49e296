/**
 * The ranker's model family: an ensemble of binary regression trees whose leaf
 * values are summed, exported as one ONNX-ML `TreeEnsembleRegressor` node
 * (domain `ai.onnx.ml`, opset 3; see docs/design/0018). `scoreEnsemble` is the
 * pure-TS twin used to check onnxruntime's answers. Platform-free.
 */
import { encodeModel } from "../onnx/encode";

/**
 * One tree as flat arrays, node 0 the root. An inner node sends a row to `left`
 * when `row[feature] <= threshold`, else to `right`; a leaf (`feature` −1) holds `value`.
 */
export interface Tree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
}

/** A tree ensemble over `numFeatures` columns: score = base + Σ tree values. */
export interface TreeEnsemble {
  numFeatures: number;
  base: number;
  trees: Tree[];
}

/** Graph input and output names of the ranker model. */
export const RANKER_IO = { features: "features", scores: "scores" } as const;

/**
 * Scores rows (`rows.length / numFeatures` of them) exactly as ONNX's
 * TreeEnsembleRegressor does: inputs and thresholds compared as float32.
 */
export function scoreEnsemble(ensemble: TreeEnsemble, rows: Float32Array): Float32Array {
  const f = ensemble.numFeatures;
  const n = rows.length / f;
  const out = new Float32Array(n);
  const thresholds = ensemble.trees.map((t) => Float32Array.from(t.threshold));
  for (let r = 0; r < n; r++) {
    let sum = 0; // accumulated in float32, as onnxruntime does for float inputs
    for (let t = 0; t < ensemble.trees.length; t++) {
      const tree = ensemble.trees[t]!;
      const th = thresholds[t]!;
      let node = 0;
      while (tree.feature[node]! >= 0) node = rows[r * f + tree.feature[node]!]! <= th[node]! ? tree.left[node]! : tree.right[node]!;
      sum = Math.fround(sum + Math.fround(tree.value[node]!));
    }
    out[r] = Math.fround(sum + Math.fround(ensemble.base));
  }
  return out;
}

/** Builds the ONNX bytes: input `features` float32 [N, F], output `scores` float32 [N, 1]. */
export function buildTreeEnsembleModel(ensemble: TreeEnsemble): Uint8Array {
  const a = {
    treeIds: [] as number[],
    nodeIds: [] as number[],
    featureIds: [] as number[],
    values: [] as number[],
    modes: [] as string[],
    trueIds: [] as number[],
    falseIds: [] as number[],
    missingTrue: [] as number[],
    tTree: [] as number[],
    tNode: [] as number[],
    tWeight: [] as number[],
  };
  ensemble.trees.forEach((tree, t) => {
    for (let node = 0; node < tree.feature.length; node++) {
      const leaf = tree.feature[node]! < 0;
      a.treeIds.push(t);
      a.nodeIds.push(node);
      a.featureIds.push(leaf ? 0 : tree.feature[node]!);
      a.values.push(leaf ? 0 : tree.threshold[node]!);
      a.modes.push(leaf ? "LEAF" : "BRANCH_LEQ");
      a.trueIds.push(leaf ? 0 : tree.left[node]!);
      a.falseIds.push(leaf ? 0 : tree.right[node]!);
      a.missingTrue.push(0);
      if (leaf) {
        a.tTree.push(t);
        a.tNode.push(node);
        a.tWeight.push(tree.value[node]!);
      }
    }
  });
  return encodeModel({
    extraOpsets: [{ domain: "ai.onnx.ml", version: 3 }],
    graph: {
      name: "edgewise_ranker",
      nodes: [
        {
          opType: "TreeEnsembleRegressor",
          domain: "ai.onnx.ml",
          name: "ranker",
          inputs: [RANKER_IO.features],
          outputs: [RANKER_IO.scores],
          attributes: [
            { name: "n_targets", kind: "int", value: 1 },
            { name: "aggregate_function", kind: "string", value: "SUM" },
            { name: "post_transform", kind: "string", value: "NONE" },
            { name: "base_values", kind: "floats", value: [ensemble.base] },
            { name: "nodes_treeids", kind: "ints", value: a.treeIds },
            { name: "nodes_nodeids", kind: "ints", value: a.nodeIds },
            { name: "nodes_featureids", kind: "ints", value: a.featureIds },
            { name: "nodes_values", kind: "floats", value: a.values },
            { name: "nodes_modes", kind: "strings", value: a.modes },
            { name: "nodes_truenodeids", kind: "ints", value: a.trueIds },
            { name: "nodes_falsenodeids", kind: "ints", value: a.falseIds },
            { name: "nodes_missing_value_tracks_true", kind: "ints", value: a.missingTrue },
            { name: "target_treeids", kind: "ints", value: a.tTree },
            { name: "target_nodeids", kind: "ints", value: a.tNode },
            { name: "target_ids", kind: "ints", value: a.tTree.map(() => 0) },
            { name: "target_weights", kind: "floats", value: a.tWeight },
          ],
        },
      ],
      initializers: [],
      inputs: [{ name: RANKER_IO.features, type: "float32", shape: ["N", ensemble.numFeatures] }],
      outputs: [{ name: RANKER_IO.scores, type: "float32", shape: ["N", 1] }],
    },
  });
}
