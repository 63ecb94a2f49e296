// Vitest global setup (runs in Node before the workerd pool): starts the local
// Upstash-compatible server in front of the real redis-server, so the Upstash
// profile store is tested against real Redis. In CI a missing Redis fails the run;
// elsewhere the Upstash tests are skipped and say so loudly.
import type { TestProject } from "vitest/node";
import { startUpstashServer } from "../../tools/local/upstash/server";

const TOKEN = "test-upstash-token";

declare module "vitest" {
  export interface ProvidedContext {
    /** The local Upstash-compatible server, or `null` when Redis is not reachable (outside CI). */
    upstash: { url: string; token: string } | null;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Port 0: a free port, so parallel runs on one machine never collide.
  const server = await startUpstashServer({ port: 0, token: TOKEN });
  const health = (await (await fetch(`${server.url}/__health`)).json()) as { redis: string; error?: string };
  if (health.redis !== "up") {
    const where = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
    if (process.env.CI) {
      await server.close();
      throw new Error(`Redis is not reachable at ${where} (${health.error}); CI requires it for the Upstash profile store tests.`);
    }
    console.warn(`\n!!! Redis is not reachable at ${where} (${health.error}): the Upstash profile store tests will be SKIPPED. Start redis-server or set REDIS_URL.\n`);
  }
  project.provide("upstash", health.redis === "up" ? { url: server.url, token: TOKEN } : null);
  return () => server.close();
}
