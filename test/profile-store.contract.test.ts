import { env } from "cloudflare:workers";
import { afterAll, describe, expect, inject, it } from "vitest";
import type { IdentifyClaim } from "../src/identity/graph";
import { type NodeId, node, personIdOf } from "../src/identity/identifiers";
import { DurableProfileStore } from "../src/profile/do-store";
import type { SessionContribution } from "../src/profile/profile";
import type { ProfileStore } from "../src/profile/store";
import { UpstashProfileStore } from "../src/profile/upstash-store";

const TTL_MS = 3600_000;
const upstash = inject("upstash");
if (!upstash) console.warn("!!! Upstash profile store contract tests SKIPPED: Redis is not reachable (see test/setup/upstash.global.ts)");

const hex = (seed: string) =>
  [...seed]
    .map((c) => c.charCodeAt(0).toString(16))
    .join("")
    .padEnd(64, "0")
    .slice(0, 64);
const c = (name: string): NodeId => node("customer", hex(`c${name}`));
const e = (name: string): NodeId => node("email", hex(`e${name}`));
const v = (name: string): NodeId => node("visitor", `visitor-${name}-00000000`);
let seq = 0;
function claim(customer: NodeId | null, email: NodeId | null, others: NodeId[] = []): IdentifyClaim {
  return { customer, email, others, at: 1_700_000_000_000 + seq, event_id: `ev-${seq++}` };
}
function contribution(visitor: string, at: number, viewed: string[], category = "shoes"): SessionContribution {
  return { visitor, at, affinity: [{ category, score: 2 }], viewed, purchased: [] };
}

/** The same behaviour, whichever store serves it. */
function contract(name: string, makeStore: () => ProfileStore, skip = false) {
  describe.skipIf(skip)(`ProfileStore contract: ${name}`, () => {
    const store = skip ? (null as unknown as ProfileStore) : makeStore();
    const tenant = () => `contract-${name}-${crypto.randomUUID().slice(0, 8)}`;
    const used: string[] = [];
    const t = () => {
      const id = tenant();
      used.push(id);
      return id;
    };
    afterAll(async () => {
      // Leave nothing behind in the shared Redis.
      for (const id of used) {
        const audit = await store.audit(id);
        expect(audit.without_expiry).toEqual([]);
      }
    });

    it("links visitors to a customer under a deterministic person id", async () => {
      const tn = t();
      const first = await store.link(tn, claim(c("ada"), null, [v("phone")]));
      expect(first).toEqual({ person: personIdOf(c("ada").slice(2)), created: true, merged: [], flagged: [] });
      const second = await store.link(tn, claim(c("ada"), e("ada"), [v("laptop")]));
      expect(second.person).toBe(first.person);
      expect(second.created).toBe(false);
      expect(await store.resolve(tn, v("phone"))).toBe(first.person);
      expect(await store.resolve(tn, e("ada"))).toBe(first.person);
      const person = await store.person(tn, first.person);
      expect(new Set(person!.members)).toEqual(new Set([c("ada"), v("phone"), e("ada"), v("laptop")]));
      expect(person!.merges.map((m) => m.action)).toEqual(["created", "linked", "linked"]);
      // Idempotent: the same identify again changes no membership.
      await store.link(tn, claim(c("ada"), e("ada"), [v("laptop")]));
      expect((await store.person(tn, first.person))!.members).toHaveLength(4);
    });

    it("merges a guest known by email into the customer who later claims that email, with a merge log and the profile moved", async () => {
      const tn = t();
      const guest = await store.link(tn, claim(null, e("bob"), [v("tablet")]));
      expect(guest.person).toBe(personIdOf(e("bob").slice(2)));
      await store.fold(tn, guest.person, contribution(v("tablet").slice(2), 1000, ["sku-1", "sku-2"]));
      await store.link(tn, claim(c("bob"), null, [v("desktop")]));
      const merged = await store.link(tn, claim(c("bob"), e("bob"), [v("desktop")]));
      const customerPerson = personIdOf(c("bob").slice(2));
      expect(merged).toMatchObject({ person: customerPerson, merged: [guest.person], flagged: [] });
      expect(await store.resolve(tn, v("tablet"))).toBe(customerPerson);
      expect(await store.person(tn, guest.person)).toBeNull();
      const record = await store.person(tn, customerPerson);
      expect(record!.merges.find((m) => m.action === "merged")).toMatchObject({ from: [guest.person] });
      expect((await store.contributions(tn, customerPerson)).map((x) => x.viewed)).toEqual([["sku-1", "sku-2"]]);
    });

    it("the canonical id does not depend on the order of identifies", async () => {
      const a = t();
      const b = t();
      const claims = [claim(null, e("cy"), [v("1")]), claim(c("cy"), e("cy"), [v("2")]), claim(c("cy"), null, [v("3")])];
      for (const x of claims) await store.link(a, x);
      for (const x of [...claims].reverse()) await store.link(b, x);
      const pa = await store.resolve(a, v("1"));
      expect(pa).toBe(await store.resolve(b, v("1")));
      expect(new Set((await store.person(a, pa!))!.members)).toEqual(new Set((await store.person(b, pa!))!.members));
    });

    it("over-merge guard: an identifier claimed by a second customer is flagged, not merged", async () => {
      const tn = t();
      const one = await store.link(tn, claim(c("dan"), e("family"), [v("shared")]));
      const two = await store.link(tn, claim(c("eve"), e("family"), [v("shared"), v("eve-phone")]));
      expect(two.flagged.sort()).toEqual([e("family"), v("shared")].sort());
      expect(two.merged).toEqual([]);
      expect(await store.resolve(tn, v("shared"))).toBe(one.person);
      expect(await store.resolve(tn, v("eve-phone"))).toBe(two.person);
      expect((await store.person(tn, two.person))!.members.sort()).toEqual([c("eve"), v("eve-phone")].sort());
      const flag = JSON.parse((await store.flag(tn, v("shared")))!) as { claims: NodeId[] };
      expect(flag.claims).toEqual([c("dan"), c("eve")]);
      expect((await store.person(tn, two.person))!.merges.at(-1)).toMatchObject({ action: "refused", reason: "claimed_by_other_customer" });
      // Erasing the second claimant takes its customer out of the flags on identifiers it never owned.
      expect(await store.erase(tn, two.person)).toMatchObject({ person: two.person, keys_deleted: 3, flags_edited: 2 }); // 2 nodes + the person;
      expect(await store.flag(tn, v("shared"))).toBeNull();
      expect(await store.flag(tn, e("family"))).toBeNull();
      expect(await store.resolve(tn, v("shared"))).toBe(one.person);
    });

    it("a person holds at most 200 identifiers: a claim past that is refused and logged", async () => {
      const tn = t();
      const many = Array.from({ length: 199 }, (_, i) => v(`cap-${i}`));
      const full = await store.link(tn, claim(c("cap"), null, many));
      expect((await store.person(tn, full.person))!.members).toHaveLength(200);
      await store.link(tn, claim(c("cap"), null, [v("cap-extra")]));
      expect(await store.resolve(tn, v("cap-extra"))).toBeNull();
      const person = (await store.person(tn, full.person))!;
      expect(person.members).toHaveLength(200);
      expect(person.merges.at(-1)).toMatchObject({ action: "refused", reason: "too_many_members", nodes: [v("cap-extra")] });
    });

    it("folds replace a session's contribution and keep the newest 20 sessions", async () => {
      const tn = t();
      const { person } = await store.link(tn, claim(c("fay"), null, []));
      await store.fold(tn, person, contribution("s1", 10, ["a"]));
      await store.fold(tn, person, contribution("s1", 20, ["a", "b"]));
      expect(await store.contributions(tn, person)).toEqual([contribution("s1", 20, ["a", "b"])]);
      for (let i = 0; i < 25; i++) await store.fold(tn, person, contribution(`s-${i}`, 100 + i, [`i${i}`]));
      const all = await store.contributions(tn, person);
      expect(all).toHaveLength(20);
      expect(Math.min(...all.map((x) => x.at))).toBe(105);
    });

    it("erase removes the person, every member, flags and the profile; every key carries a TTL", async () => {
      const tn = t();
      const { person } = await store.link(tn, claim(c("gus"), e("gus"), [v("g1"), v("g2")]));
      await store.fold(tn, person, contribution("g1", 5, ["x"]));
      await store.link(tn, claim(c("hal"), e("gus"), [])); // flags e(gus)
      const before = await store.audit(tn);
      expect(before.keys).toBeGreaterThanOrEqual(7);
      expect(before.without_expiry).toEqual([]);
      const erased = await store.erase(tn, person);
      expect(erased.person).toBe(person);
      expect(erased).toMatchObject({ keys_deleted: 7, flags_edited: 0 }); // 4 nodes, the person, the profile, 1 flag
      for (const n of [c("gus"), e("gus"), v("g1"), v("g2")]) expect(await store.resolve(tn, n)).toBeNull();
      expect(await store.person(tn, person)).toBeNull();
      expect(await store.contributions(tn, person)).toEqual([]);
      expect(await store.flag(tn, e("gus"))).toBeNull();
      // Only the other customer remains.
      const after = await store.audit(tn);
      expect(after.keys).toBe(2); // hal's node and person record
      expect((await store.erase(tn, person)).keys_deleted).toBe(0); // idempotent
    });
  });
}

// A generous budget: the first call of a file wakes a cold Durable Object in the pool
// (seconds when the file runs alone). The budget's own behaviour is tested with
// injected latency in identity.integration.test.ts.
const BUDGET_MS = 10_000;
contract("durable-object", () => new DurableProfileStore(env.PROFILES, BUDGET_MS));
contract("upstash", () => new UpstashProfileStore({ url: upstash!.url, token: upstash!.token }, TTL_MS, BUDGET_MS), !upstash);
