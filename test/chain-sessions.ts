import { Random } from "../src/offline/synthetic/random";

export const ITEMS = 30;
export const item = (i: number): string => String((((i % ITEMS) + ITEMS) % ITEMS) + 1);

/** 200 sessions over 30 items that mostly walk a chain 1 → 2 → … → 30 → 1, with some noise and repeats. */
export function chainSessions(seed = 7): string[][] {
  const rng = new Random(seed);
  return Array.from({ length: 200 }, () => {
    let at = rng.int(0, ITEMS - 1);
    const seq = [item(at)];
    const len = rng.int(2, 8);
    while (seq.length < len) {
      at = rng.chance(0.8) ? at + 1 : rng.chance(0.5) ? at : rng.int(0, ITEMS - 1);
      seq.push(item(at));
    }
    return seq;
  });
}
