/**
 * The fresh generator's state, point in time, for the trainer's lists (design 0028):
 * the same `CoVisitation` code the FreshDO runs, streamed over the training sessions
 * in time order. A list at view i of a session sees that session's views up to i and
 * every other session's views from before the session started — never anything later,
 * so no list learns from its own future. Offline code (Node).
 */
import { CoVisitation, type FreshNeighbours, type FreshStateOptions } from "../../models/ranker/fresh";

/** Without real times: sessions start this far apart, views within one this far apart. */
export const SYNTHETIC_SESSION_SPACING_MS = 60_000;
export const SYNTHETIC_VIEW_SPACING_MS = 10_000;

export class FreshReplay {
  readonly state: CoVisitation;
  private readonly queue: Array<{ at: number; s: number; i: number }> = [];
  private readonly sessionOf = new Map<readonly string[], number>();
  private readonly own = new Map<number, number>();
  private cursor = 0;

  /**
   * `sessions` oldest first; `viewTimes[j][i]` is when view i of session j happened (epoch ms),
   * else synthetic times (sessions a minute apart, views ten seconds apart).
   */
  constructor(
    private readonly sessions: readonly (readonly string[])[],
    options: FreshStateOptions,
    private readonly viewTimes?: ReadonlyArray<readonly number[]>,
  ) {
    this.state = new CoVisitation(options);
    sessions.forEach((s, j) => {
      this.sessionOf.set(s, j);
      for (let i = 0; i < s.length; i++) this.queue.push({ at: this.time(j, i), s: j, i });
    });
    this.queue.sort((a, b) => a.at - b.at || a.s - b.s || a.i - b.i);
  }

  /** Before a session's first list: every other session's views before it started. */
  startSession(session: readonly string[]): void {
    const j = this.index(session);
    const start = this.time(j, 0);
    while (this.cursor < this.queue.length && this.queue[this.cursor]!.at < start) {
      const q = this.queue[this.cursor++]!;
      if (q.i >= (this.own.get(q.s) ?? 0)) this.apply(q.s, q.i);
    }
  }

  /** The session's own view i (its lists see their own prefix, as serving does). */
  view(session: readonly string[], i: number): void {
    const j = this.index(session);
    for (let k = this.own.get(j) ?? 0; k <= i; k++) this.apply(j, k);
    this.own.set(j, Math.max(this.own.get(j) ?? 0, i + 1));
  }

  /** The state now, as the generator reads it. */
  lookup(): FreshNeighbours {
    return this.state.lookup();
  }

  private apply(j: number, i: number): void {
    this.state.observe({ visitor: `s${j}`, item: this.sessions[j]![i]!, at: this.time(j, i) });
  }

  private time(j: number, i: number): number {
    return this.viewTimes?.[j]?.[i] ?? j * SYNTHETIC_SESSION_SPACING_MS + i * SYNTHETIC_VIEW_SPACING_MS;
  }

  private index(session: readonly string[]): number {
    const j = this.sessionOf.get(session);
    if (j === undefined) throw new Error("FreshReplay: a session it was not built with");
    return j;
  }
}

/**
 * The fresh generator's state for evaluation through the serving path, as a running
 * service's FreshDO would hold it: every training session's views (in order, on the
 * trainer's synthetic clock), then the evaluated sessions one after another, each list
 * seeing the sessions before its own and its own prefix — what `FreshReplay` gives the
 * trainer's lists, continued past the training data.
 */
export class FreshStream {
  readonly state: CoVisitation;
  private session = -1;
  private current: readonly string[] = [];
  private applied = 0;

  /** `training`: the sessions the version was trained on, oldest first. */
  constructor(
    private readonly training: readonly (readonly string[])[],
    options: FreshStateOptions,
  ) {
    this.state = new CoVisitation(options);
    // In time order, as FreshReplay streams them (a long session's views interleave with the next's).
    const views: Array<{ j: number; i: number }> = [];
    training.forEach((s, j) => {
      for (let i = 0; i < s.length; i++) views.push({ j, i });
    });
    const at = (v: { j: number; i: number }) => v.j * SYNTHETIC_SESSION_SPACING_MS + v.i * SYNTHETIC_VIEW_SPACING_MS;
    views.sort((a, b) => at(a) - at(b) || a.j - b.j || a.i - b.i);
    for (const v of views) this.observe(v.j, training[v.j]![v.i]!, v.i);
  }

  /** A new evaluated session starts: the previous one's views are all in the state by now. */
  startSession(session: readonly string[]): void {
    this.flush(this.current.length);
    this.session++;
    this.current = session;
    this.applied = 0;
  }

  /** The state a list after the session's first `n` views sees. */
  after(n: number): FreshNeighbours {
    this.flush(n);
    return this.state.lookup();
  }

  private flush(n: number): void {
    for (; this.applied < Math.min(n, this.current.length); this.applied++) this.observe(this.training.length + this.session, this.current[this.applied]!, this.applied);
  }

  private observe(j: number, item: string, i: number): void {
    this.state.observe({ visitor: `s${j}`, item, at: j * SYNTHETIC_SESSION_SPACING_MS + i * SYNTHETIC_VIEW_SPACING_MS });
  }
}
