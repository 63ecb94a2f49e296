import type { Principal } from "../auth/scopes";
import type { TenantConfig } from "../config";
import type { Config } from "../config";
import type { Logger } from "./log";

/** Request-scoped values set by middleware. */
export interface AppVariables {
  requestId: string;
  config: Config;
  log: Logger;
  tenant: TenantConfig;
  visitorId: string;
  /** True when this request had no visitor token and got a new one. */
  visitorIssued: boolean;
  timings: Array<[name: string, ms: number]>;
  /** The verified token's principal, or `null` for a browser call with only the publishable key. */
  principal: Principal | null;
}

/** Hono's environment type for this worker. */
export interface AppEnv {
  Bindings: Env;
  Variables: AppVariables;
}
