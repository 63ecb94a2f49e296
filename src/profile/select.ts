import type { Config } from "../config";
import { DurableProfileStore } from "./do-store";
import type { ProfileStore } from "./store";
import { UpstashProfileStore } from "./upstash-store";

const upstashClients = new Map<string, UpstashProfileStore>();

/** The configured profile store: Upstash when `UPSTASH_REDIS_REST_URL` is set, else the embedded ProfileDO. */
export function profileStore(env: Env, config: Config): ProfileStore {
  if (!config.upstash) return new DurableProfileStore(env.PROFILES, config.profileTimeoutMs); // a thin wrapper: cheap
  // The HTTP client is built once per isolate and configuration.
  const key = `${config.upstash.url}|${config.profileTimeoutMs}|${config.profileTtlMs}`;
  let store = upstashClients.get(key);
  if (!store) {
    store = new UpstashProfileStore(config.upstash, config.profileTtlMs, config.profileTimeoutMs);
    upstashClients.set(key, store);
  }
  return store;
}
