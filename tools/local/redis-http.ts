// `npm run redis:http`: a local Upstash-compatible REST server in front of redis-server,
// so `npm run dev` can run on the Upstash profile store path (README "Profiles on Upstash").
import { parseArgs } from "node:util";
import { startUpstashServer } from "./upstash/server";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8079" },
    token: { type: "string", default: process.env.UPSTASH_REDIS_REST_TOKEN || "local-upstash-token" },
    redis: { type: "string", default: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" },
  },
});

const { url } = await startUpstashServer({ port: Number(values.port), token: values.token!, redisUrl: values.redis! });
const health = await fetch(`${url}/__health`).then((r) => r.json() as Promise<{ redis: string; error?: string }>);
console.log(`Upstash-compatible REST server on ${url} → ${values.redis} (redis ${health.redis}${health.error ? `: ${health.error}` : ""})`);
console.log(`Use it with: UPSTASH_REDIS_REST_URL=${url} UPSTASH_REDIS_REST_TOKEN=${values.token}`);
