import type { Tenant } from "../auth/tenant";
import type { Config } from "../config";
import type { Logger } from "./log";

/** Request-scoped values set by middleware. */
export interface AppVariables {
  requestId: string;
  config: Config;
  log: Logger;
  tenant: Tenant;
  visitorId: string;
  /** True when this request had no visitor token and got a new one. */
  visitorIssued: boolean;
  timings: Array<[name: string, ms: number]>;
}

/** Hono's environment type for this worker. */
export interface AppEnv {
  Bindings: Env;
  Variables: AppVariables;
}
