// `npm run retention:audit -- [--url http://127.0.0.1:8787] [--tenant demo]`: asks a running
// worker (GET /v1/subjects/retention, admin scope) for everything stored without an expiry or
// past it, prints it per store, and exits 1 when anything has no expiry.
import { parseArgs } from "node:util";
import { mintLocalToken, publishableKeyOf } from "../local/local-token";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:8787" },
    tenant: { type: "string", default: "demo" },
    token: { type: "string" },
    key: { type: "string" },
  },
});

const token = values.token ?? (await mintLocalToken({ tenant: values.tenant!, scope: "admin", ttlSeconds: 300 }));
const key = values.key ?? publishableKeyOf(values.tenant!);
const res = await fetch(`${values.url}/v1/subjects/retention`, { headers: { "x-edgewise-key": key, authorization: `Bearer ${token}` } });
const body = (await res.json()) as {
  error?: { code: string; message: string };
  without_expiry: number;
  overdue: number;
  stores: Array<{ store: string; mechanism: string; items: number; without_expiry: string[]; overdue: string[] }>;
};
if (!res.ok) {
  console.error(`retention audit failed: ${res.status} ${body.error?.code}: ${body.error?.message}`);
  process.exit(2);
}
for (const s of body.stores) {
  console.log(`${s.without_expiry.length === 0 ? "ok  " : "FAIL"} ${s.store.padEnd(24)} ${String(s.items).padStart(6)} item(s)  ${s.mechanism}`);
  for (const k of s.without_expiry) console.log(`       no expiry: ${k}`);
  for (const k of s.overdue) console.log(`       overdue:   ${k}`);
}
console.log(`\n${body.without_expiry} without expiry, ${body.overdue} overdue (tenant ${values.tenant})`);
process.exit(body.without_expiry === 0 ? 0 : 1);
