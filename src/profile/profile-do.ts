import { DurableObject } from "cloudflare:workers";
import { loadConfig } from "../config";
import type { IdentifyClaim, LinkResult, PersonRecord } from "../identity/graph";
import type { NodeId } from "../identity/identifiers";
import { type PersonConsent, type RetentionAudit, type StoreErasure, operations } from "./operations";
import type { SessionContribution } from "./profile";
import { PROFILE_SCHEMA_SQL, SqliteKV } from "./sqlite-kv";

/**
 * The embedded profile store: one SQLite Durable Object per tenant holding that
 * tenant's identity graph and profiles. One object per tenant serialises every
 * `link` (union-find needs that) and needs no configuration; shops beyond ~1,000
 * profile reads a second should use Upstash (docs/design/0012).
 */
export class ProfileDO extends DurableObject<Env> {
  private readonly kv: SqliteKV;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(PROFILE_SCHEMA_SQL);
    this.kv = new SqliteKV(ctx.storage, loadConfig(env).profileTtlMs);
  }

  async link(claim: IdentifyClaim): Promise<LinkResult> {
    const result = await operations.link(this.kv, claim);
    await this.ensureAlarm();
    return result;
  }
  resolve(n: NodeId): Promise<string | null> {
    return operations.resolve(this.kv, n);
  }
  person(personId: string): Promise<PersonRecord | null> {
    return operations.person(this.kv, personId);
  }
  flag(n: NodeId): Promise<string | null> {
    return operations.flag(this.kv, n);
  }
  async fold(personId: string, c: SessionContribution): Promise<void> {
    await operations.fold(this.kv, personId, c);
    await this.ensureAlarm();
  }
  consent(personId: string): Promise<PersonConsent | null> {
    return operations.consent(this.kv, personId);
  }
  async setConsent(personId: string, c: PersonConsent): Promise<void> {
    await operations.setConsent(this.kv, personId, c);
    await this.ensureAlarm();
  }
  forget(personId: string, visitor: string): Promise<void> {
    return operations.forget(this.kv, personId, visitor);
  }
  contributions(personId: string): Promise<SessionContribution[]> {
    return operations.contributions(this.kv, personId);
  }
  erase(personId: string | null, nodes: NodeId[] = []): Promise<StoreErasure> {
    return operations.erase(this.kv, personId, nodes);
  }
  audit(): Promise<RetentionAudit> {
    return operations.audit(this.kv);
  }

  /** For the retention audit: the purge alarm and whether any key is stored. */
  async retentionStatus(): Promise<{ alarm: number | null; empty: boolean }> {
    return { alarm: await this.ctx.storage.getAlarm(), empty: (await this.kv.scan("")).length === 0 };
  }

  /** Purges expired keys; reschedules for the next expiry. Idempotent (alarms are at-least-once). */
  override async alarm(): Promise<void> {
    const next = this.kv.purgeExpired();
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  private async ensureAlarm(): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + loadConfig(this.env).profileTtlMs);
  }
}
