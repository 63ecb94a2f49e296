// `npm run token -- --scope "events:write identify" [--customer cust-42 [--email ada@example.com]] [--tenant demo] [--ttl 3600]`:
// prints a JWT for local calls to `npm run dev` (see tools/local-token.ts).
import { parseArgs } from "node:util";
import { mintLocalToken } from "../local/local-token";

const { values } = parseArgs({
  options: {
    tenant: { type: "string", default: "demo" },
    scope: { type: "string", default: "events:write identify recommendations:read" },
    customer: { type: "string" },
    email: { type: "string" },
    subject: { type: "string" },
    ttl: { type: "string", default: "3600" },
  },
});
console.log(await mintLocalToken({ tenant: values.tenant!, scope: values.scope!, customer: values.customer, email: values.email, subject: values.subject, ttlSeconds: Number(values.ttl) }));
