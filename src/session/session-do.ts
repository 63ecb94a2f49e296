import { DurableObject } from "cloudflare:workers";
import { loadConfig } from "../config";
import type { TrackedEvent } from "../contracts/events";
import { declaredConsent } from "../features/consent-gate";
import { type FeatureState, type FeatureVector, initialState, materialise } from "../features/engine";
import { createLogger } from "../http/log";
import { type ConsentContext, effectivePurposes } from "../privacy/consent";
import { contributionOf } from "../profile/profile";
import { AlarmPlanner } from "./alarm";
import type { StoredImpression } from "./attribution";
import { foldBatch } from "./fold";
import { Outbox } from "./outbox";
import { type SessionRow, SessionRows } from "./rows";
import { LEGACY_SQL, OUTBOX_RETRY_MS, SCHEMA_SQL, SNAPSHOT_RECENT } from "./schema";
import { ServedLists } from "./served-lists";
import type { IngestResult, SessionIdentity, SessionIdentityInfo, SessionSnapshot, SessionWithdrawal } from "./types";

export type { IngestOutcome, IngestResult, SessionIdentity, SessionIdentityInfo, SessionSnapshot, SessionWithdrawal } from "./types";

/** Tenants' default when nothing is declared and no context is given (direct RPC callers, older clients). */
const IMPLIED: ConsentContext = { mode: "opt-out", gpc: false };
/**
 * After an erasure the object remembers when it happened (a timestamp, nothing
 * about the person) for this long, so a request received before the erasure
 * but applied after it cannot bring the visitor back.
 */
const ERASURE_GUARD_MS = 15 * 60_000;
const ERASED_AT = "erased_at";

/**
 * One visitor's online feature store (SQLite-backed): the RPC surface. The batch
 * fold is pure (`fold.ts`), the outbox forwards applied events (`outbox.ts`), the
 * served lists wait for attribution (`served-lists.ts`), and one alarm serves every
 * reason to wake up (`alarm.ts`); this class holds them together in one transaction
 * per request.
 */
export class SessionDO extends DurableObject<Env> {
  private readonly alarms = new AlarmPlanner(this.ctx.storage);
  private readonly outbox = new Outbox(
    this.ctx.storage.sql,
    () => this.env.EVENTS,
    () => this.log(),
  );
  private readonly lists = new ServedLists(this.ctx.storage, this.alarms);
  private readonly rows = new SessionRows(this.ctx.storage.sql);
  private schemaReady = false;
  /** The tail of the ingests, erasures and alarm runs of this instance: each waits for the one before. */
  private turn: Promise<unknown> = Promise.resolve();
  /** When this visitor was erased (`null`: never, `undefined`: not read yet); read once, kept by every path that changes it. */
  private erasedAt: number | null | undefined;

  /**
   * Applies new events, forwards them to the queue, and reports duplicates. One ingest at a time per
   * object (with erasure and the alarm): the fold is sent to the queue before its transaction commits,
   * so nothing else may change the session in between (design 0026).
   */
  ingest(who: SessionIdentity, events: TrackedEvent[], receivedAt: number, consent: ConsentContext = IMPLIED, impressions: StoredImpression[] = []): Promise<IngestResult> {
    return this.serially(() => this.ingestNow(who, events, receivedAt, consent, impressions));
  }

  private async ingestNow(who: SessionIdentity, events: TrackedEvent[], receivedAt: number, consent: ConsentContext, impressions: StoredImpression[]): Promise<IngestResult> {
    const config = loadConfig(this.env);
    const erasedAt = await this.erasureTime();
    if (erasedAt !== null && receivedAt <= erasedAt) {
      return { ok: true, outcomes: events.map(() => "erased" as const), identified: null, withdrawn: null };
    }
    this.ensureSchema();
    // Lists served to this visitor not written yet: before the events, so they can be attributed.
    this.lists.write(impressions, this.rows.get() !== null);
    const existing = this.rows.get();
    const row: SessionRow = existing?.row ?? { tenant: who.tenant, visitor_id: who.visitorId, next_seq: 1, last_received_at: receivedAt, state: "" };
    if (row.tenant !== who.tenant || row.visitor_id !== who.visitorId) {
      throw new Error("session identity mismatch"); // a naming bug, never a client mistake
    }
    // Reducers are pure: the cached state is never modified, so a fold that is not committed leaves it valid.
    const fold = foldBatch({
      who,
      state: existing?.state ?? initialState(),
      nextSeq: row.next_seq,
      receivedAt,
      events,
      seen: this.rows.seen(events.map((e) => e.id)),
      consent,
      engine: { sessionGapMs: config.sessionGapMs },
      impressions: () => this.lists.read(),
    });
    // Nothing consented, nothing stored: not even a session row for a visitor who never agreed.
    if (!existing && fold.seenRows.length === 0) return { ok: true, outcomes: fold.outcomes, identified: null, withdrawn: fold.withdrawn };
    // Sent first: the outbox row is written only for what the queue refused (design 0026). A crash
    // between the send and the commit leaves lines in the log the session never applied; the client,
    // never answered, retries, and the log's readers deduplicate by event id (design 0003).
    const { unsent, forwarded } = await this.outbox.sendNow(Outbox.pack(who.tenant, fold.lines, fold.lineSeqs));
    // One synchronous transaction: the dedup index, the features, the history and what the queue refused
    // change together or not at all.
    let after: ReturnType<SessionRows["write"]>;
    try {
      after = this.ctx.storage.transactionSync(() => {
        if (fold.withdrawn) this.lists.clear();
        this.outbox.add(unsent);
        return this.rows.write(row, fold, receivedAt);
      });
    } catch (err) {
      this.rows.rolledBack();
      throw err;
    }
    this.rows.committed(after);
    await this.scheduleAlarm(forwarded);
    const identified = this.identifiedInfo(who.visitorId, after.state, receivedAt, config.sessionGapMs, consent);
    const extra = { identified, withdrawn: fold.withdrawn as SessionWithdrawal | null };
    return forwarded ? { ok: true, outcomes: fold.outcomes, ...extra } : { ok: false, reason: "enqueue_failed", outcomes: fold.outcomes, ...extra };
  }

  /**
   * Only the feature values at `now` (the recommendation path), or `null` for a visitor with no events.
   * `record`: lists served earlier that the worker had not recorded yet (one round trip instead of two).
   */
  async features(now: number = Date.now(), record: StoredImpression[] = []): Promise<FeatureVector | null> {
    if (!this.hasSchema()) return null;
    const session = this.rows.get();
    if (!session) return null; // a visitor with no session has nothing to attribute later
    if (record.length > 0) await this.lists.buffer(record, now);
    return materialise(session.state, now, { sessionGapMs: loadConfig(this.env).sessionGapMs });
  }

  /** Remembers impressions served to this visitor, so later clicks and purchases are attributed to them. */
  async recordImpressions(impressions: StoredImpression[]): Promise<void> {
    if (!this.hasSchema()) return;
    this.lists.write(impressions, this.rows.get() !== null);
  }

  /** The visitor's features at `now`, their recent events and forwarding state. */
  async snapshot(now: number = Date.now()): Promise<SessionSnapshot | null> {
    if (!this.hasSchema()) return null;
    const row = this.rows.get()?.row;
    if (!row) return null;
    const recent = this.rows.recent(SNAPSHOT_RECENT);
    return {
      visitor_id: row.visitor_id,
      computed_at: now,
      events_applied: row.next_seq - 1,
      pending_forward: this.outbox.pending(),
      features: materialise(JSON.parse(row.state) as FeatureState, now, { sessionGapMs: loadConfig(this.env).sessionGapMs }),
      recent_events: recent,
    };
  }

  /**
   * Erases this visitor (a data-subject request): every row, the pending outbox
   * (never forwarded now) and the alarm. Returns how many rows were deleted.
   */
  erase(): Promise<{ rows_deleted: number }> {
    return this.serially(() => this.eraseNow());
  }

  private async eraseNow(): Promise<{ rows_deleted: number }> {
    let rows = 0;
    if (this.hasSchema()) {
      const sql = this.ctx.storage.sql;
      for (const t of ["session", "seen_recent", "seen_merged", "history_batches", "served_lists", "impressions", ...this.outbox.tables()])
        rows += sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${t}`).one().n;
    }
    await this.alarms.clear();
    await this.wipe();
    // Requests already past the worker's checks still arrive: they are refused until the guard expires.
    const now = Date.now();
    await this.ctx.storage.put(ERASED_AT, now);
    this.erasedAt = now;
    await this.alarms.set(now + ERASURE_GUARD_MS);
    return { rows_deleted: rows };
  }

  /**
   * Writes buffered lists, retries forwarding, then expires an idle session by
   * deleting all its storage. Idempotent: alarms are at-least-once, and a second
   * run finds nothing to do.
   */
  override alarm(): Promise<void> {
    return this.serially(() => this.alarmNow());
  }

  private async alarmNow(): Promise<void> {
    this.alarms.fired();
    if (!this.hasSchema()) {
      // Only an erasure guard can be here: it expires, and the object is empty again.
      const erasedAt = await this.erasureTime();
      if (erasedAt !== null && Date.now() >= erasedAt + ERASURE_GUARD_MS) {
        await this.ctx.storage.deleteAll();
        this.erasedAt = null;
      } else if (erasedAt !== null) await this.alarms.set(erasedAt + ERASURE_GUARD_MS);
      return;
    }
    this.lists.onAlarm();
    this.lists.write([], this.rows.get() !== null);
    const forwarded = await this.outbox.flush();
    if (!forwarded) return this.scheduleAlarm(false);
    const row = this.rows.get()?.row;
    if (!row || Date.now() >= row.last_received_at + loadConfig(this.env).sessionTtlMs) {
      await this.alarms.clear();
      await this.wipe();
      this.erasedAt = null;
      this.log().info("session_expired");
      return;
    }
    await this.scheduleAlarm(true);
  }

  /** The alarm fires no later than the outbox retry (when the queue refused) or the session's expiry. */
  private async scheduleAlarm(forwarded: boolean): Promise<void> {
    const row = this.rows.get()?.row;
    if (!row) return;
    const expiresAt = row.last_received_at + loadConfig(this.env).sessionTtlMs;
    await this.alarms.noLaterThan(forwarded ? expiresAt : Math.min(expiresAt, Date.now() + OUTBOX_RETRY_MS));
  }

  private identifiedInfo(visitorId: string, state: FeatureState, now: number, sessionGapMs: number, consent: ConsentContext): SessionIdentityInfo | null {
    if (!state.slots.identity || state.slots.identity.s === null) return null;
    // Only a personalising session contributes to a profile.
    if (!effectivePurposes(declaredConsent(state), consent).personalization) return null;
    const features = materialise(state, now, { sessionGapMs });
    const identity = features.identity ?? null;
    return identity ? { identity, contribution: contributionOf(visitorId, features, now), consent: declaredConsent(state) } : null;
  }

  /** Deletes all storage and what this instance keeps in memory about it. */
  private async wipe(): Promise<void> {
    await this.ctx.storage.deleteAll();
    this.schemaReady = false;
    this.rows.forget();
    this.outbox.forget();
    this.lists.forget();
    this.alarms.forget();
  }

  /** Runs `fn` once every ingest, erasure and alarm run before it has finished (a failure does not stop the line). */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn);
    this.turn = run.catch(() => undefined);
    return run;
  }

  private ensureSchema(): void {
    if (this.schemaReady) return;
    const sql = this.ctx.storage.sql;
    sql.exec(SCHEMA_SQL);
    // Objects from before design 0026 keep one row per event in `seen` and `history`: packed once.
    if (sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'seen'").toArray().length > 0) {
      this.ctx.storage.transactionSync(() => sql.exec(LEGACY_SQL));
    }
    this.schemaReady = true;
  }

  private hasSchema(): boolean {
    if (this.schemaReady) return true;
    const found = this.ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'session'").toArray();
    // An object that has a session gets today's tables (served_lists, design 0027; its older ones packed, 0026) before any read.
    if (found.length > 0) this.ensureSchema();
    return this.schemaReady;
  }

  private async erasureTime(): Promise<number | null> {
    if (this.erasedAt === undefined) this.erasedAt = (await this.ctx.storage.get<number>(ERASED_AT)) ?? null;
    return this.erasedAt;
  }

  private log() {
    return createLogger(loadConfig(this.env).logLevel, { component: "session_do" });
  }
}
