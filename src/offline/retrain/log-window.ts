/**
 * Reads one tenant's event log for a training window as a stream: objects in
 * partition order (`dt=…/hour=…/<received_ms>-…`, which is arrival order), one at a
 * time, each visitor's lines buffered only while the visitor may still receive lines
 * (`lateness` past its last arrival). A finished visitor's stream is deduplicated by
 * event id, ordered by `seq` and cut into visits by the feature engine's own rule
 * (`viewSessionsFromLog`), then dropped: memory holds the visitors active in the last
 * couple of hours and the view sequences, never the log. Offline code (Node or workerd).
 */
import type { EventMessage } from "../../contracts/queue";
import { type EngineOptions, applyEvent, initialState } from "../../features/engine";

/** The few calls made on the log: keys under a prefix in key order, and one object's text. */
export interface LogObjects {
  keys(prefix: string): AsyncIterable<string>;
  text(key: string): Promise<string>;
}

/** The window: training visits start in [from, holdoutFrom); held-out visits in [holdoutFrom, to). Epoch ms. */
export interface LogWindow {
  from: number;
  holdoutFrom: number;
  to: number;
}

/** One visit's product views, oldest first, and when it started. */
export interface Visit {
  start: number;
  items: string[];
}

/** What a window read gives: visits with ≥ 2 views split by start time, and counts for the model card. */
export interface WindowData {
  train: string[][];
  holdout: string[][];
  /** Distinct events in the window (after deduplication and erasures). */
  events: number;
  /** Product views among them. */
  views: number;
  lines: number;
  duplicates: number;
  erased: number;
  objects: number;
  /** Visitor streams closed (a visitor back after more than the lateness counts again). */
  visitors: number;
  /** Most visitors buffered at once (the memory bound in practice). */
  peakBuffered: number;
}

/** Options of {@link readLogWindow}. */
export interface ReadOptions {
  engine: EngineOptions;
  /** How long after a visitor's last line more of its lines may still arrive (default 2 h; queue retries are minutes). */
  latenessMs?: number;
  /** When the visitor was erased (its lines received before then are dropped), if ever. */
  erasedAt?: (tenant: string, visitor: string) => Promise<number | undefined>;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const KEY = /\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\//;

/** The hive partition's hour (epoch ms) of a log key, or null for a key outside the layout. */
export function partitionHour(key: string): number | null {
  const m = KEY.exec(key);
  return m ? Date.parse(`${m[1]}T${m[2]}:00:00Z`) : null;
}

/** Reads the window of `tenant`'s log (see the module comment). */
export async function readLogWindow(log: LogObjects, tenant: string, window: LogWindow, opts: ReadOptions): Promise<WindowData> {
  const lateness = opts.latenessMs ?? 2 * HOUR_MS;
  const buffered = new Map<string, { last: number; lines: EventMessage[] }>();
  const visits: Array<Visit & { held: boolean }> = [];
  const out = { events: 0, views: 0, lines: 0, duplicates: 0, erased: 0, objects: 0, visitors: 0, peakBuffered: 0 };

  const finish = async (visitor: string, lines: EventMessage[]) => {
    out.visitors++;
    const erasedAt = opts.erasedAt ? await opts.erasedAt(tenant, visitor) : undefined;
    const byId = new Map<string, EventMessage>();
    for (const m of lines) {
      if (erasedAt !== undefined && m.received_at <= erasedAt) out.erased++;
      else if (byId.has(m.event.id)) out.duplicates++;
      else byId.set(m.event.id, m);
    }
    let state = initialState();
    let current: Visit | null = null;
    const close = () => {
      if (current && current.items.length >= 2 && current.start >= window.from && current.start < window.to) visits.push({ ...current, held: current.start >= window.holdoutFrom });
    };
    for (const m of [...byId.values()].sort((a, b) => a.seq - b.seq)) {
      const inWindow = m.event.timestamp >= window.from && m.event.timestamp < window.to;
      if (inWindow) out.events++;
      // Visits by the engine's own rule, as viewSessionsFromLog cuts them.
      state = applyEvent(state, m.event, opts.engine);
      if (state.visit && state.visit.events === 1) {
        close();
        current = { start: m.event.timestamp, items: [] };
      }
      if (m.event.type === "product_view" && inWindow) {
        out.views++;
        current?.items.push(m.event.properties.item_id);
      }
    }
    close();
  };
  const flush = async (before: number) => {
    for (const [visitor, b] of buffered) {
      if (b.last >= before) continue;
      buffered.delete(visitor);
      await finish(visitor, b.lines);
    }
  };

  // Partitions from a day before the window (visits that started earlier) to a day after (late arrivals).
  const first = window.from - DAY_MS;
  const last = window.to + DAY_MS;
  let hour = Number.NEGATIVE_INFINITY;
  for await (const key of log.keys(`events/tenant=${tenant}/`)) {
    const h = partitionHour(key);
    if (h === null || h < first || h > last) continue;
    if (h > hour) {
      await flush(h - lateness);
      hour = h;
    }
    out.objects++;
    for (const raw of (await log.text(key)).split("\n")) {
      if (raw.trim() === "") continue;
      const m = JSON.parse(raw) as EventMessage;
      if (m.kind !== "event" || m.tenant !== tenant) continue;
      out.lines++;
      const b = buffered.get(m.visitor_id) ?? { last: 0, lines: [] };
      b.last = Math.max(b.last, m.received_at);
      b.lines.push(m);
      buffered.set(m.visitor_id, b);
    }
    out.peakBuffered = Math.max(out.peakBuffered, buffered.size);
  }
  await flush(Number.POSITIVE_INFINITY);
  // Training code splits by time: oldest visit first.
  visits.sort((a, b) => a.start - b.start);
  return {
    train: visits.filter((v) => !v.held).map((v) => v.items),
    holdout: visits.filter((v) => v.held).map((v) => v.items),
    ...out,
  };
}
