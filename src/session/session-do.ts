import { DurableObject } from "cloudflare:workers";
import { loadConfig } from "../config";
import { EVENT_SCHEMA_VERSION, type EventMessage, type TrackedEvent } from "../events/types";
import { type FeatureState, type FeatureVector, initialState, materialise } from "../features/engine";
import { applyWithConsent, declaredConsent } from "../features/consent-gate";
import type { ConsentValue, IdentityValue } from "../features/definitions/visitor";
import { createLogger } from "../http/log";
import { type ConsentContext, effectivePurposes } from "../privacy/consent";
import { type SessionContribution, contributionOf } from "../profile/profile";
import { ATTRIBUTED_TYPES, type StoredImpression, attribute } from "./attribution";
import { chunkForSendBatch, packLines, sendSerialised } from "../pipeline/pack";
import {
  ATTRIBUTION_WINDOW_MS,
  DEDUP_HORIZON_MS,
  HISTORY_LIMIT,
  IMPRESSIONS_LIMIT,
  LEGACY_OUTBOX,
  OUTBOX_RETRY_MS,
  SCHEMA_SQL,
  SEEN_PRUNE_EVERY_MS,
  SNAPSHOT_RECENT,
} from "./schema";

/** Who a session belongs to; always derived from verified ids by the caller. */
export interface SessionIdentity {
  tenant: string;
  visitorId: string;
}

/** Per-event outcome of an ingest, in input order; `no_consent`: neither folded nor forwarded, nothing stored. */
export type IngestOutcome = "accepted" | "duplicate" | "no_consent" | "erased";

/** Tenants' default when nothing is declared and no context is given (direct RPC callers, older clients). */
const IMPLIED: ConsentContext = { mode: "opt-out", gpc: false };
/**
 * Served lists handed over with `features()` are kept in memory and written in
 * batches (design 0010): with the next event batch (which needs them for
 * attribution), at this many, or by an alarm this soon. A write per served
 * list cost about a third of the recommendation path's throughput.
 */
const IMPRESSION_SAVE_BATCH = 25;
const IMPRESSION_SAVE_MS = 1000;
/**
 * After an erasure the object remembers when it happened (a timestamp, nothing
 * about the person) for this long, so a request received before the erasure
 * but applied after it cannot bring the visitor back.
 */
const ERASURE_GUARD_MS = 15 * 60_000;
const ERASED_AT = "erased_at";

/** For an identified visitor: who they are and what this session contributes to their profile. */
export interface SessionIdentityInfo {
  identity: IdentityValue;
  contribution: SessionContribution;
  /** The visitor's own declaration, if any: it becomes the person's when they identify. */
  consent: ConsentValue | null;
}

/** Personalization consent was withdrawn in this batch; `identity` is who the session was before it was wiped. */
export interface SessionWithdrawal {
  identity: IdentityValue | null;
}

/** Result of `ingest`: expected outcomes are data, not exceptions. */
export type IngestResult =
  | { ok: true; outcomes: IngestOutcome[]; identified: SessionIdentityInfo | null; withdrawn: SessionWithdrawal | null }
  /** Events were applied and kept in the outbox, but the queue refused them: answer 503, a retry is safe. */
  | { ok: false; reason: "enqueue_failed"; outcomes: IngestOutcome[]; identified: SessionIdentityInfo | null; withdrawn: SessionWithdrawal | null };

/** What `GET /v1/session` shows a visitor about themselves. */
export interface SessionSnapshot {
  visitor_id: string;
  computed_at: number;
  events_applied: number;
  pending_forward: number;
  features: FeatureVector;
  recent_events: TrackedEvent[];
}

function identifiedInfo(visitorId: string, state: FeatureState, now: number, sessionGapMs: number, consent: ConsentContext): SessionIdentityInfo | null {
  if (!state.slots.identity || state.slots.identity.s === null) return null;
  // Only a personalising session contributes to a profile.
  if (!effectivePurposes(declaredConsent(state), consent).personalization) return null;
  const features = materialise(state, now, { sessionGapMs });
  const identity = features.identity as IdentityValue | null;
  return identity ? { identity, contribution: contributionOf(visitorId, features, now), consent: declaredConsent(state) } : null;
}

interface SessionRow {
  tenant: string;
  visitor_id: string;
  next_seq: number;
  last_received_at: number;
  state: string;
}

/**
 * One visitor's online feature store (SQLite-backed). Applies each event once
 * (deduplicated by event id), keeps the features, and forwards applied events to
 * the central queue through a transactional outbox.
 */
export class SessionDO extends DurableObject<Env> {
  private schemaReady = false;
  /**
   * The session row with its state parsed, while this instance lives (`undefined`: not read yet).
   * Every write to the row goes through this instance (ingest, erase, expiry), which drops it.
   */
  private cached: { row: SessionRow; state: FeatureState } | null | undefined;
  private flushChain: Promise<boolean> = Promise.resolve(true);
  /** Served lists not written yet (see IMPRESSION_SAVE_BATCH); lost only if the instance dies within IMPRESSION_SAVE_MS. */
  private unsaved: StoredImpression[] = [];
  private saveAlarmSet = false;
  /** When this visitor was erased (`null`: never, `undefined`: not read yet); read once, kept by every path that changes it. */
  private erasedAt: number | null | undefined;
  /** The scheduled alarm (`null`: none, `undefined`: not read yet); every path that sets or deletes it keeps this. */
  private alarmAt: number | null | undefined;
  /** Whether the pre-packing `outbox` table exists (`undefined`: not looked yet). */
  private legacyOutbox: boolean | undefined;
  /** When this instance last pruned expired ids from `seen`. */
  private seenPrunedAt = 0;

  /** Applies new events, forwards them to the queue, and reports duplicates. */
  async ingest(who: SessionIdentity, events: TrackedEvent[], receivedAt: number, consent: ConsentContext = IMPLIED, impressions: StoredImpression[] = []): Promise<IngestResult> {
    const config = loadConfig(this.env);
    const erasedAt = await this.erasureTime();
    if (erasedAt !== null && receivedAt <= erasedAt) {
      return { ok: true, outcomes: events.map(() => "erased" as const), identified: null, withdrawn: null };
    }
    this.ensureSchema();
    // Lists served to this visitor not written yet: before the events, so they can be attributed.
    this.storeImpressions([...this.unsaved.splice(0), ...impressions]);
    const sql = this.ctx.storage.sql;
    // One synchronous transaction: the dedup index, the features, the history and
    // the outbox change together or not at all. Each table takes one statement per
    // request (rows passed as one JSON parameter), not one per event.
    let committed: { row: SessionRow; state: FeatureState } | null = null;
    let withdrawn: SessionWithdrawal | null = null;
    const outcomes = this.ctx.storage.transactionSync(() => {
      const existing = this.session();
      const row: SessionRow = existing?.row ?? {
        tenant: who.tenant,
        visitor_id: who.visitorId,
        next_seq: 1,
        last_received_at: receivedAt,
        state: "",
      };
      if (row.tenant !== who.tenant || row.visitor_id !== who.visitorId) {
        throw new Error("session identity mismatch"); // a naming bug, never a client mistake
      }
      // Reducers are pure: the cached state is never modified, so a rolled-back transaction leaves it valid.
      let state = existing?.state ?? initialState();
      let seq = row.next_seq;
      const ids = [...new Set(events.map((e) => e.id))];
      const seen = new Set(
        sql.exec<{ event_id: string }>("SELECT event_id FROM seen WHERE event_id IN (SELECT value FROM json_each(?))", JSON.stringify(ids)).toArray().map((r) => r.event_id),
      );
      let impressions: StoredImpression[] | null = null; // read only when an event can be attributed
      const seenRows: Array<[string, number]> = [];
      let historyRows: Array<[number, string]> = [];
      const lines: string[] = [];
      const lineSeqs: number[] = [];
      const result: IngestOutcome[] = events.map((event) => {
        if (seen.has(event.id)) return "duplicate";
        // Consent gate (shared with the offline replay): refused events store nothing at all.
        const gate = applyWithConsent(state, event, { sessionGapMs: config.sessionGapMs }, consent);
        if (gate.refused) return "no_consent";
        if (gate.withdrawal && !withdrawn) {
          // Withdrawal takes effect at once: the visitor's features, history and impressions go.
          withdrawn = gate.withdrawal;
          sql.exec("DELETE FROM history");
          sql.exec("DELETE FROM impressions");
          historyRows = [];
          impressions = [];
        }
        seen.add(event.id);
        state = gate.state;
        const message: EventMessage = {
          kind: "event",
          schema_version: EVENT_SCHEMA_VERSION,
          tenant: who.tenant,
          visitor_id: who.visitorId,
          seq,
          received_at: receivedAt,
          event,
        };
        if (ATTRIBUTED_TYPES.has(event.type)) {
          const attribution = attribute(event, (impressions ??= this.readImpressions()));
          if (attribution.length > 0) message.attribution = attribution;
        }
        seenRows.push([event.id, seq]);
        if (gate.folded) historyRows.push([seq, JSON.stringify(event)]);
        if (gate.forwarded) {
          lines.push(JSON.stringify(message));
          lineSeqs.push(seq);
        }
        seq++;
        return "accepted";
      });
      // Nothing consented, nothing stored: not even a session row for a visitor who never agreed.
      if (!existing && seenRows.length === 0) return result;
      if (seenRows.length > 0) {
        sql.exec(
          "INSERT INTO seen (event_id, seq, received_at) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ? FROM json_each(?)",
          receivedAt,
          JSON.stringify(seenRows),
        );
      }
      if (historyRows.length > 0) {
        sql.exec("INSERT INTO history (seq, event) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)", JSON.stringify(historyRows));
        if (seq - 1 > HISTORY_LIMIT) sql.exec("DELETE FROM history WHERE seq <= ?", seq - 1 - HISTORY_LIMIT);
      }
      // One queue message per request (more only past the message size), keyed by the seq of its first event.
      let at = 0;
      for (const packed of packLines(who.tenant, lines)) {
        sql.exec("INSERT INTO outbox_messages (seq, events, message) VALUES (?, ?, ?)", lineSeqs[at]!, packed.lines, packed.json);
        at += packed.lines;
      }
      if (receivedAt - this.seenPrunedAt > SEEN_PRUNE_EVERY_MS) {
        sql.exec("DELETE FROM seen WHERE received_at < ?", receivedAt - DEDUP_HORIZON_MS);
        this.seenPrunedAt = receivedAt;
      }
      const next: SessionRow = { ...row, next_seq: seq, last_received_at: Math.max(row.last_received_at, receivedAt), state: JSON.stringify(state) };
      sql.exec(
        `INSERT INTO session (id, tenant, visitor_id, next_seq, last_received_at, state) VALUES (1, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET next_seq = excluded.next_seq, last_received_at = excluded.last_received_at, state = excluded.state`,
        next.tenant,
        next.visitor_id,
        next.next_seq,
        next.last_received_at,
        next.state,
      );
      committed = { row: next, state };
      return result;
    });
    const after = committed as { row: SessionRow; state: FeatureState } | null;
    if (after) this.cached = after;
    const forwarded = await this.flush();
    await this.scheduleAlarm(forwarded);
    const identified = after ? identifiedInfo(who.visitorId, after.state, receivedAt, config.sessionGapMs, consent) : null;
    const extra = { identified, withdrawn: withdrawn as SessionWithdrawal | null };
    return forwarded ? { ok: true, outcomes, ...extra } : { ok: false, reason: "enqueue_failed", outcomes, ...extra };
  }

  /**
   * Only the feature values at `now` (the recommendation path), or `null` for a visitor with no events.
   * `record`: lists served earlier that the worker had not recorded yet (one round trip instead of two).
   */
  async features(now: number = Date.now(), record: StoredImpression[] = []): Promise<FeatureVector | null> {
    if (!this.hasSchema()) return null;
    const session = this.session();
    if (!session) return null; // a visitor with no session has nothing to attribute later
    if (record.length > 0) await this.bufferImpressions(record, now);
    return materialise(session.state, now, { sessionGapMs: loadConfig(this.env).sessionGapMs });
  }

  /** Remembers impressions served to this visitor, so later clicks and purchases are attributed to them. */
  async recordImpressions(impressions: StoredImpression[]): Promise<void> {
    if (!this.hasSchema()) return;
    this.storeImpressions(impressions);
  }

  /** The visitor's features at `now`, their recent events and forwarding state. */
  async snapshot(now: number = Date.now()): Promise<SessionSnapshot | null> {
    if (!this.hasSchema()) return null;
    const row = this.session()?.row;
    if (!row) return null;
    const config = loadConfig(this.env);
    const sql = this.ctx.storage.sql;
    const recent = sql
      .exec<{ event: string }>("SELECT event FROM history ORDER BY seq DESC LIMIT ?", SNAPSHOT_RECENT)
      .toArray()
      .reverse()
      .map((r) => JSON.parse(r.event) as TrackedEvent);
    const pending =
      sql.exec<{ n: number }>("SELECT coalesce(sum(events), 0) AS n FROM outbox_messages").one().n +
      (this.hasLegacyOutbox() ? sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${LEGACY_OUTBOX}`).one().n : 0);
    return {
      visitor_id: row.visitor_id,
      computed_at: now,
      events_applied: row.next_seq - 1,
      pending_forward: pending,
      features: materialise(JSON.parse(row.state) as FeatureState, now, { sessionGapMs: config.sessionGapMs }),
      recent_events: recent,
    };
  }

  /**
   * Erases this visitor (a data-subject request): every row, the pending outbox
   * (never forwarded now) and the alarm. Returns how many rows were deleted.
   */
  async erase(): Promise<{ rows_deleted: number }> {
    let rows = 0;
    if (this.hasSchema()) {
      const sql = this.ctx.storage.sql;
      const tables = ["session", "seen", "history", "outbox_messages", "impressions", ...(this.hasLegacyOutbox() ? [LEGACY_OUTBOX] : [])];
      for (const t of tables) rows += sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${t}`).one().n;
    }
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.forget();
    // Requests already past the worker's checks still arrive: they are refused until the guard expires.
    const now = Date.now();
    await this.ctx.storage.put(ERASED_AT, now);
    this.erasedAt = now;
    await this.setAlarm(now + ERASURE_GUARD_MS);
    return { rows_deleted: rows };
  }

  /**
   * Retries forwarding, then expires an idle session by deleting all its storage.
   * Idempotent: alarms are at-least-once, and a second run finds nothing to do.
   */
  override async alarm(): Promise<void> {
    // A running alarm is no longer scheduled; whatever this run sets is the next one.
    this.alarmAt = null;
    if (!this.hasSchema()) {
      // Only an erasure guard can be here: it expires, and the object is empty again.
      const erasedAt = await this.erasureTime();
      if (erasedAt !== null && Date.now() >= erasedAt + ERASURE_GUARD_MS) {
        await this.ctx.storage.deleteAll();
        this.erasedAt = null;
      } else if (erasedAt !== null) await this.setAlarm(erasedAt + ERASURE_GUARD_MS);
      return;
    }
    this.saveAlarmSet = false;
    this.storeImpressions(this.unsaved.splice(0));
    const forwarded = await this.flush();
    if (!forwarded) return this.scheduleAlarm(false);
    const row = this.session()?.row;
    const { sessionTtlMs } = loadConfig(this.env);
    if (!row || Date.now() >= row.last_received_at + sessionTtlMs) {
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      this.forget();
      this.erasedAt = null;
      this.log().info("session_expired");
      return;
    }
    await this.scheduleAlarm(true);
  }

  /** Sends every outbox row to the queue; `false` when the queue refused (rows stay for a retry). */
  private flush(): Promise<boolean> {
    // Serialised, so concurrent requests and the alarm never send the same rows twice.
    const run = this.flushChain.then(() => this.flushOnce());
    this.flushChain = run.catch(() => false);
    return run;
  }

  private async flushOnce(): Promise<boolean> {
    const sql = this.ctx.storage.sql;
    if (this.hasLegacyOutbox()) {
      const legacy = sql.exec<{ seq: number; message: string }>(`SELECT seq, message FROM ${LEGACY_OUTBOX} ORDER BY seq`).toArray();
      if (!(await this.sendRows(LEGACY_OUTBOX, legacy))) return false;
      // An object created before packing has forwarded its per-event outbox: the table goes.
      sql.exec(`DROP TABLE ${LEGACY_OUTBOX}`);
      this.legacyOutbox = false;
    }
    for (;;) {
      const rows = sql.exec<{ seq: number; message: string }>("SELECT seq, message FROM outbox_messages ORDER BY seq LIMIT 100").toArray();
      if (rows.length === 0) return true;
      if (!(await this.sendRows("outbox_messages", rows))) return false;
    }
  }

  /** Sends outbox rows in `sendBatch` chunks, deleting each chunk once the queue took it; `false` when it refused. */
  private async sendRows(table: string, rows: Array<{ seq: number; message: string }>): Promise<boolean> {
    for (const chunk of chunkForSendBatch(rows.map((r) => ({ seq: r.seq, json: r.message })))) {
      try {
        await sendSerialised(this.env.EVENTS, chunk);
      } catch (err) {
        this.log().warn("enqueue_failed", { pending_messages: rows.length, error: err instanceof Error ? err.message : String(err) });
        return false;
      }
      this.ctx.storage.sql.exec(`DELETE FROM ${table} WHERE seq BETWEEN ? AND ?`, chunk[0]!.seq, chunk[chunk.length - 1]!.seq);
    }
    return true;
  }

  /**
   * Keeps one alarm that fires no later than it must: the outbox retry, or the
   * session's expiry. An earlier alarm is left alone (its run reschedules), so an
   * ordinary request neither reads nor writes the alarm once it is known.
   */
  private async scheduleAlarm(forwarded: boolean): Promise<void> {
    const row = this.session()?.row;
    if (!row) return;
    const expiresAt = row.last_received_at + loadConfig(this.env).sessionTtlMs;
    await this.alarmNoLaterThan(forwarded ? expiresAt : Math.min(expiresAt, Date.now() + OUTBOX_RETRY_MS));
  }

  /** Makes sure an alarm fires by `at`; an earlier one stays (its run reschedules). */
  private async alarmNoLaterThan(at: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt === null || this.alarmAt > at) await this.setAlarm(at);
  }

  private async setAlarm(at: number): Promise<void> {
    await this.ctx.storage.setAlarm(at);
    this.alarmAt = at;
  }

  /** Drops what this instance keeps in memory about storage that was just deleted. */
  private forget(): void {
    this.schemaReady = false;
    this.legacyOutbox = false;
    this.cached = undefined;
    this.unsaved = [];
    this.saveAlarmSet = false;
    this.alarmAt = null;
  }

  private ensureSchema(): void {
    if (this.schemaReady) return;
    this.ctx.storage.sql.exec(SCHEMA_SQL);
    this.schemaReady = true;
  }

  private hasSchema(): boolean {
    if (this.schemaReady) return true;
    const found = this.ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'session'").toArray();
    this.schemaReady = found.length > 0;
    return this.schemaReady;
  }

  private hasLegacyOutbox(): boolean {
    if (this.legacyOutbox === undefined) {
      this.legacyOutbox = this.ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", LEGACY_OUTBOX).toArray().length > 0;
    }
    return this.legacyOutbox;
  }

  private async erasureTime(): Promise<number | null> {
    if (this.erasedAt === undefined) this.erasedAt = (await this.ctx.storage.get<number>(ERASED_AT)) ?? null;
    return this.erasedAt;
  }

  /** Keeps served lists in memory until a batch is worth a write; makes sure an alarm writes them soon. */
  private async bufferImpressions(impressions: StoredImpression[], now: number): Promise<void> {
    this.unsaved.push(...impressions);
    if (this.unsaved.length >= IMPRESSION_SAVE_BATCH) {
      this.storeImpressions(this.unsaved.splice(0));
      return;
    }
    if (this.saveAlarmSet) return;
    await this.alarmNoLaterThan(now + IMPRESSION_SAVE_MS);
    this.saveAlarmSet = true;
  }

  private storeImpressions(impressions: StoredImpression[]): void {
    if (impressions.length === 0 || !this.session()) return; // a visitor with no session has nothing to attribute later
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      let newest = 0;
      for (const imp of impressions) {
        sql.exec("INSERT OR REPLACE INTO impressions (impression_id, served_at, data) VALUES (?, ?, ?)", imp.impression_id, imp.served_at, JSON.stringify(imp));
        newest = Math.max(newest, imp.served_at);
      }
      sql.exec("DELETE FROM impressions WHERE served_at < ?", newest - ATTRIBUTION_WINDOW_MS);
      sql.exec(
        "DELETE FROM impressions WHERE impression_id NOT IN (SELECT impression_id FROM impressions ORDER BY served_at DESC LIMIT ?)",
        IMPRESSIONS_LIMIT,
      );
    });
  }

  /** The session row and its parsed state, from memory after the first read. */
  private session(): { row: SessionRow; state: FeatureState } | null {
    if (this.cached === undefined) {
      const row = this.readSession();
      this.cached = row ? { row, state: JSON.parse(row.state) as FeatureState } : null;
    }
    return this.cached;
  }

  private readImpressions(): StoredImpression[] {
    return this.ctx.storage.sql
      .exec<{ data: string }>("SELECT data FROM impressions ORDER BY served_at DESC")
      .toArray()
      .map((r) => JSON.parse(r.data) as StoredImpression);
  }

  private readSession(): SessionRow | null {
    const rows = this.ctx.storage.sql
      .exec<Record<string, SqlStorageValue>>("SELECT tenant, visitor_id, next_seq, last_received_at, state FROM session WHERE id = 1")
      .toArray();
    return (rows[0] as SessionRow | undefined) ?? null;
  }

  private log() {
    return createLogger(loadConfig(this.env).logLevel, { component: "session_do" });
  }
}
