import type { IdentifyClaim, LinkResult, PersonRecord } from "../identity/graph";
import type { NodeId } from "../identity/identifiers";
import type { PersonConsent, RetentionAudit, StoreErasure } from "./operations";
import type { SessionContribution } from "./profile";
import { type ProfileStore, deadline } from "./store";

/** `ProfileStore` on the embedded ProfileDO (one object per tenant, named from server-side config). */
export class DurableProfileStore implements ProfileStore {
  readonly backend = "durable-object" as const;
  constructor(
    private readonly ns: Env["PROFILES"],
    private readonly timeoutMs: number,
  ) {}

  private stub(tenant: string) {
    return this.ns.getByName(`tenant:${tenant}`);
  }
  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return deadline(fn(), this.timeoutMs, `profile store (durable object) ${what}`);
  }

  link(tenant: string, claim: IdentifyClaim): Promise<LinkResult> {
    return this.call("link", () => this.stub(tenant).link(claim));
  }
  resolve(tenant: string, n: NodeId): Promise<string | null> {
    return this.call("resolve", () => this.stub(tenant).resolve(n));
  }
  person(tenant: string, personId: string): Promise<PersonRecord | null> {
    return this.call("person", () => this.stub(tenant).person(personId));
  }
  flag(tenant: string, n: NodeId): Promise<string | null> {
    return this.call("flag", () => this.stub(tenant).flag(n));
  }
  fold(tenant: string, personId: string, c: SessionContribution): Promise<void> {
    return this.call("fold", () => this.stub(tenant).fold(personId, c));
  }
  consent(tenant: string, personId: string): Promise<PersonConsent | null> {
    return this.call("consent", () => this.stub(tenant).consent(personId));
  }
  setConsent(tenant: string, personId: string, c: PersonConsent): Promise<void> {
    return this.call("setConsent", () => this.stub(tenant).setConsent(personId, c));
  }
  forget(tenant: string, personId: string, visitor: string): Promise<void> {
    return this.call("forget", () => this.stub(tenant).forget(personId, visitor));
  }
  contributions(tenant: string, personId: string): Promise<SessionContribution[]> {
    return this.call("contributions", () => this.stub(tenant).contributions(personId));
  }
  erase(tenant: string, personId: string | null, nodes: NodeId[] = []): Promise<StoreErasure> {
    return this.call("erase", () => this.stub(tenant).erase(personId, nodes));
  }
  audit(tenant: string): Promise<RetentionAudit> {
    return this.call("audit", () => this.stub(tenant).audit());
  }
}
