/** Published HR@20 / MRR@20 (%) on the SR-GNN Diginetica split (../shared/datasets/README.md), for reference rows. */
export const PUBLISHED_DIGINETICA: ReadonlyArray<readonly [name: string, hr20: number, mrr20: number]> = [
  ["POP", 0.89, 0.2],
  ["Item-KNN", 35.75, 11.57],
  ["GRU4Rec", 29.45, 8.33],
  ["STAMP", 45.64, 14.32],
  ["NARM", 49.7, 16.17],
  ["SR-GNN", 50.73, 17.59],
  ["V-SKNN (plain)", 51.6, 18.2],
  ["GCE-GNN", 54.22, 19.04],
];
