/**
 * The visit guard (design 0029): a ranker may push the visit's own items below the page,
 * where S-POP (the visit's items by views, then recency) would have shown them — and a
 * repeat is the most likely next item of many visits. With the guard on (the trainer turns
 * it on when its ranker ranks repeat targets below S-POP on validation), the visit's first
 * items in S-POP order, at most half the page, are moved into the page's last places,
 * displacing the lowest-ranked other items to just below the page. Pure code.
 */

/** The visit's distinct items by views (most first), then by recency: S-POP's order. */
export function visitOrder(sequence: readonly string[]): string[] {
  const stats = new Map<string, { count: number; last: number }>();
  sequence.forEach((item, i) => {
    const s = stats.get(item);
    if (s) (s.count += 1), (s.last = i);
    else stats.set(item, { count: 1, last: i });
  });
  return [...stats].sort((a, b) => b[1].count - a[1].count || b[1].last - a[1].last).map(([item]) => item);
}

/**
 * `ranked` (best first) with the first ⌈page / 2⌉ of `visit` (S-POP order) that `ranked` lists
 * and `skip` keeps inside the first `page` kept entries; an item already there stays where it
 * is. The others keep their order; skipped entries are left out (the rules would drop them).
 */
export function guardVisit<T extends { item_id: string }>(ranked: readonly T[], visit: readonly string[], page: number, skip: (item: string) => boolean = () => false): T[] {
  const eligible = ranked.filter((s) => !skip(s.item_id));
  const top = eligible.slice(0, page);
  const rest = eligible.slice(page);
  const listed = new Set(eligible.map((s) => s.item_id));
  const guarded = new Set(visit.filter((item) => listed.has(item)).slice(0, Math.ceil(page / 2)));
  const inTop = new Set(top.map((s) => s.item_id));
  for (const item of guarded) {
    if (inTop.has(item)) continue;
    const at = rest.findIndex((s) => s.item_id === item);
    if (at < 0) continue;
    const [moved] = rest.splice(at, 1);
    if (top.length >= page) {
      let r = top.length - 1;
      while (r >= 0 && guarded.has(top[r]!.item_id)) r--;
      const [out] = top.splice(r, 1);
      rest.unshift(out!); // it ranked above every item below the page
    }
    top.push(moved!);
  }
  return [...top, ...rest];
}
