import type { IdentifyClaim, LinkResult, PersonRecord } from "../identity/graph";
import type { NodeId } from "../identity/identifiers";
import type { PersonConsent, RetentionAudit, StoreErasure } from "./operations";
import type { SessionContribution } from "./profile";

/**
 * The global store of identity graphs and customer profiles. The embedded
 * Durable Object implementation is the default; Upstash Redis is used when
 * `UPSTASH_REDIS_REST_URL` is set. Both honour a per-call timeout and fail with
 * `ProfileStoreError`, which callers turn into a `degraded` answer.
 */
export interface ProfileStore {
  readonly backend: "durable-object" | "upstash";
  link(tenant: string, claim: IdentifyClaim): Promise<LinkResult>;
  resolve(tenant: string, n: NodeId): Promise<string | null>;
  person(tenant: string, personId: string): Promise<PersonRecord | null>;
  /** The raw flag record of a contested identifier (JSON), or `null`. */
  flag(tenant: string, n: NodeId): Promise<string | null>;
  fold(tenant: string, personId: string, contribution: SessionContribution): Promise<void>;
  contributions(tenant: string, personId: string): Promise<SessionContribution[]>;
  /** The person's consent as last declared on any identified device. */
  consent(tenant: string, personId: string): Promise<PersonConsent | null>;
  setConsent(tenant: string, personId: string, consent: PersonConsent): Promise<void>;
  /** Removes one device's contribution (consent withdrawn on it). */
  forget(tenant: string, personId: string, visitor: string): Promise<void>;
  /** Erases a person (or `null`) and every trace of `nodes` — the request's own identifiers — in this store. */
  erase(tenant: string, personId: string | null, nodes?: NodeId[]): Promise<StoreErasure>;
  audit(tenant: string): Promise<RetentionAudit>;
}

/** A store call that failed or ran out of time: an expected outcome on the recommendation path. */
export class ProfileStoreError extends Error {
  override readonly name = "ProfileStoreError";
  constructor(
    readonly code: "timeout" | "unavailable",
    message: string,
  ) {
    super(message);
  }
}

/** Rejects with `ProfileStoreError("timeout")` when `promise` takes longer than `ms`. */
export function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProfileStoreError("timeout", `${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([
    promise.catch((err: unknown) => {
      throw err instanceof ProfileStoreError ? err : new ProfileStoreError("unavailable", `${what}: ${err instanceof Error ? err.message : String(err)}`);
    }),
    timeout,
  ]).finally(() => clearTimeout(timer));
}
