import { Redis } from "@upstash/redis/cloudflare";
import type { IdentifyClaim, LinkResult, PersonRecord } from "../identity/graph";
import type { NodeId } from "../identity/identifiers";
import type { ProfileKV, WriteBatch } from "../identity/kv";
import { type PersonConsent, type RetentionAudit, type StoreErasure, operations } from "./operations";
import type { SessionContribution } from "./profile";
import { type ProfileStore, ProfileStoreError, deadline } from "./store";

/** The narrow slice of the Upstash client this store uses (Upstash ratelimit's habit). */
type RedisLike = Pick<Redis, "mget" | "hgetall" | "multi" | "scan" | "ttl" | "set" | "eval">;

const LOCK_TTL_MS = 5000;
const LOCK_WAIT_MS = 25;
const RELEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`;

/** `ProfileKV` over Upstash Redis, every key under `ew:<tenant>:`. */
export class RedisKV implements ProfileKV {
  private readonly prefix: string;
  constructor(
    private readonly redis: RedisLike,
    tenant: string,
    private readonly ttlS: number,
  ) {
    this.prefix = `ew:${tenant}:`;
  }

  async mget(keys: string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return this.redis.mget<Array<string | null>>(...keys.map((k) => this.prefix + k));
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    // Without automatic deserialization the client hands back Redis' flat [field, value, …] list.
    const raw = (await this.redis.hgetall(this.prefix + key)) as unknown;
    const out: Record<string, string> = Object.create(null) as Record<string, string>;
    if (Array.isArray(raw)) for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i])] = String(raw[i + 1]);
    else if (raw && typeof raw === "object") Object.assign(out, raw);
    return out;
  }

  async write(batch: WriteBatch): Promise<void> {
    const p = (k: string) => this.prefix + k;
    // Hash moves read first; the merge that needs them runs under the tenant lock.
    const moved = await Promise.all((batch.moveHashes ?? []).map(async ([from, to]) => [from, to, await this.hgetall(from)] as const));
    const tx = this.redis.multi();
    let ops = 0;
    for (const [from, to, fields] of moved) {
      if (Object.keys(fields).length > 0) {
        tx.hset(p(to), fields);
        tx.expire(p(to), this.ttlS);
      }
      tx.del(p(from));
      ops++;
    }
    for (const [k, v] of batch.sets ?? []) tx.set(p(k), v, { ex: this.ttlS }), ops++;
    for (const [k, f, v] of batch.hsets ?? []) {
      tx.hset(p(k), { [f]: v });
      tx.expire(p(k), this.ttlS);
      ops++;
    }
    for (const [k, fields] of batch.hdels ?? []) if (fields.length > 0) tx.hdel(p(k), ...fields), ops++;
    for (const k of batch.dels ?? []) tx.del(p(k)), ops++;
    if (ops > 0) await tx.exec();
  }

  async scan(prefix: string): Promise<string[]> {
    const found = new Set<string>();
    let cursor: string | number = "0";
    do {
      const [next, batch]: [string | number, string[]] = await this.redis.scan(cursor, { match: `${this.prefix}${prefix}*`, count: 500 });
      for (const k of batch) found.add(k.slice(this.prefix.length));
      cursor = next;
    } while (String(cursor) !== "0");
    return [...found];
  }

  async ttl(key: string): Promise<number | null> {
    const t = await this.redis.ttl(this.prefix + key);
    return t === -1 ? null : t;
  }

  /** Runs `fn` holding the tenant's identity lock (SET NX PX), so concurrent merges never interleave. */
  async locked<T>(fn: () => Promise<T>, budgetMs: number): Promise<T> {
    const key = `${this.prefix}lock:identity`;
    const token = crypto.randomUUID();
    const until = Date.now() + budgetMs;
    while ((await this.redis.set(key, token, { nx: true, px: LOCK_TTL_MS })) !== "OK") {
      if (Date.now() > until) throw new ProfileStoreError("timeout", "identity lock busy");
      await new Promise((r) => setTimeout(r, LOCK_WAIT_MS));
    }
    try {
      return await fn();
    } finally {
      await this.redis.eval(RELEASE, [key], [token]).catch(() => undefined); // expires on its own otherwise
    }
  }
}

/** `ProfileStore` on Upstash Redis (global, cross-region). */
export class UpstashProfileStore implements ProfileStore {
  readonly backend = "upstash" as const;
  private readonly redis: RedisLike;

  constructor(
    opts: { url: string; token: string },
    private readonly ttlMs: number,
    private readonly timeoutMs: number,
    redis?: RedisLike,
  ) {
    this.redis =
      redis ??
      new Redis({
        url: opts.url,
        token: opts.token,
        // A static signal that fires turns a GET into `null`, a silent miss; the function form throws (PLATFORM-NOTES).
        signal: () => AbortSignal.timeout(this.timeoutMs),
        // Values are JSON we parse ourselves; never let the client guess.
        automaticDeserialization: false,
        // One quick retry for a dropped connection; the request budget is small.
        retry: { retries: 1, backoff: () => 10 },
        enableTelemetry: false,
      });
  }

  private kv(tenant: string): RedisKV {
    return new RedisKV(this.redis, tenant, Math.ceil(this.ttlMs / 1000));
  }
  private call<T>(what: string, fn: () => Promise<T>, budget = this.timeoutMs): Promise<T> {
    return deadline(fn(), budget, `profile store (upstash) ${what}`);
  }

  link(tenant: string, claim: IdentifyClaim): Promise<LinkResult> {
    const kv = this.kv(tenant);
    // A merge is several round trips under a lock: it gets a few budgets, and it is not on the recommendation path.
    return this.call("link", () => kv.locked(() => operations.link(kv, claim), this.timeoutMs * 4), this.timeoutMs * 8);
  }
  resolve(tenant: string, n: NodeId): Promise<string | null> {
    return this.call("resolve", () => operations.resolve(this.kv(tenant), n));
  }
  person(tenant: string, personId: string): Promise<PersonRecord | null> {
    return this.call("person", () => operations.person(this.kv(tenant), personId));
  }
  flag(tenant: string, n: NodeId): Promise<string | null> {
    return this.call("flag", () => operations.flag(this.kv(tenant), n));
  }
  fold(tenant: string, personId: string, c: SessionContribution): Promise<void> {
    return this.call("fold", () => operations.fold(this.kv(tenant), personId, c), this.timeoutMs * 2);
  }
  consent(tenant: string, personId: string): Promise<PersonConsent | null> {
    return this.call("consent", () => operations.consent(this.kv(tenant), personId));
  }
  setConsent(tenant: string, personId: string, c: PersonConsent): Promise<void> {
    return this.call("setConsent", () => operations.setConsent(this.kv(tenant), personId, c));
  }
  forget(tenant: string, personId: string, visitor: string): Promise<void> {
    return this.call("forget", () => operations.forget(this.kv(tenant), personId, visitor));
  }
  contributions(tenant: string, personId: string): Promise<SessionContribution[]> {
    return this.call("contributions", () => operations.contributions(this.kv(tenant), personId));
  }
  erase(tenant: string, personId: string | null, nodes: NodeId[] = []): Promise<StoreErasure> {
    const kv = this.kv(tenant);
    return this.call("erase", () => kv.locked(() => operations.erase(kv, personId, nodes), this.timeoutMs * 4), this.timeoutMs * 8);
  }
  audit(tenant: string): Promise<RetentionAudit> {
    return this.call("audit", () => operations.audit(this.kv(tenant)), 30_000);
  }
}
