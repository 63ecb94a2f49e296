/**
 * The few storage operations the identity graph and profiles need, inside one
 * tenant's namespace. Two implementations: SQLite in the embedded ProfileDO
 * (the default) and Upstash Redis. Every key written gets the store's TTL.
 */
export interface ProfileKV {
  /** Values of string keys, `null` where missing or expired. */
  mget(keys: string[]): Promise<Array<string | null>>;
  /** All fields of a hash key (empty when missing). */
  hgetall(key: string): Promise<Record<string, string>>;
  /** Applies a batch atomically; every touched key's TTL is renewed. */
  write(batch: WriteBatch): Promise<void>;
  /** Every key of the namespace starting with `prefix` (erasure, retention audit). */
  scan(prefix: string): Promise<string[]>;
  /** Seconds until a key expires; `null` when it has no expiry, `-2` when missing. */
  ttl(key: string): Promise<number | null>;
}

/** One atomic write. */
export interface WriteBatch {
  sets?: Array<[key: string, value: string]>;
  hsets?: Array<[key: string, field: string, value: string]>;
  hdels?: Array<[key: string, fields: string[]]>;
  dels?: string[];
  /** Hash fields moved from one key to another (a merge), then the source deleted. */
  moveHashes?: Array<[from: string, to: string]>;
}
