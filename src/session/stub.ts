import type { SessionDO } from "./session-do";

/**
 * The SessionDO of one visitor. The name joins the tenant id (from server-side
 * configuration) and the visitor id (from a verified signature): never a raw
 * client field.
 */
export function sessionStub(env: Env, tenantId: string, visitorId: string): DurableObjectStub<SessionDO> {
  return env.SESSIONS.getByName(`${tenantId}:${visitorId}`);
}
