// A real `wrangler dev` for the storefront tests: free ports, its own local state seeded
// with the demo model, catalog and an A/B experiment (so clicks show in the dashboard),
// the demo shop on, and known local secrets. Chromium is launched the house way.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { type Browser, chromium } from "playwright-core";
import { withLocalBucket } from "../tools/local/local-r2";
import { activate, publishCatalog, publishModel } from "../tools/cli/registry";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const KEY = "pk_demo_edgewise";
export const TENANT = "demo";
/** The demo tenant's secret Segment write key in these tests. */
export const SEGMENT_WRITE_KEY = "storefront-test-segment-write-key-0123456789";
export const DEMO_JWT_SECRET = JSON.parse(/^JWT_SECRETS='(.+)'$/m.exec(readFileSync(".dev.vars.example", "utf8"))![1]!).demo as string;

export interface DevWorker {
  base: string;
  port: number;
  state: string;
  log(): string;
  stop(): Promise<void>;
}

function freePort(from: number, to: number): Promise<number> {
  const port = from + Math.floor(Math.random() * (to - from));
  return new Promise((ok) => {
    const srv = createServer()
      .once("error", () => ok(freePort(from, to)))
      .listen(port, "127.0.0.1", () => srv.close(() => ok(port)));
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | false>, timeoutMs: number, log: () => string = () => ""): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}\n${log().slice(-2000)}`);
}

/** Starts `wrangler dev` on free ports in 20000–21999 with a fresh, seeded local state; `vars` override wrangler.toml's. */
export async function startDevWorker(vars: Record<string, string> = {}): Promise<DevWorker> {
  const state = mkdtempSync(join(tmpdir(), "edgewise-store-"));
  await withLocalBucket(
    "edgewise-models",
    async (bucket) => {
      const target = { kind: "local" as const, bucket };
      const id = await publishModel(target, "models/demo/1");
      await publishCatalog(target, TENANT, "models/demo/catalog.json");
      await activate(target, { tenant: TENANT, experiment: "homepage", salt: "homepage", variants: [`control=${id}:50`, `treatment=${id}:50:max_per_category=4`] });
    },
    join(state, "v3", "r2"),
  );
  const port = await freePort(20000, 21000);
  const inspector = await freePort(21000, 21999);
  const base = `http://127.0.0.1:${port}`;
  let log = "";
  const dev: ChildProcess = spawn(
    "node_modules/.bin/wrangler",
    [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspector),
      "--persist-to",
      state,
      "--log-level",
      "warn",
      "--var",
      "LOG_LEVEL:warn",
      "--var",
      "REGISTRY_REFRESH_SECONDS:0",
      "--var",
      `DEMO_SHOP_KEY:${KEY}`,
      "--var",
      "VISITOR_SECRET:storefront-test-visitor-secret-0123456789",
      "--var",
      "PII_SECRET:storefront-test-pii-secret-0123456789abcd",
      "--var",
      `JWT_SECRETS:${JSON.stringify({ demo: DEMO_JWT_SECRET })}`,
      "--var",
      `SEGMENT_WRITE_KEYS:${JSON.stringify({ demo: SEGMENT_WRITE_KEY })}`,
      ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
    ],
    { env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" }, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  dev.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  dev.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const worker: DevWorker = {
    base,
    port,
    state,
    log: () => log,
    stop: async () => {
      if (dev.pid) {
        try {
          process.kill(-dev.pid, "SIGTERM"); // the whole group: wrangler and its workerd
        } catch {
          /* already gone */
        }
      }
      await new Promise((r) => setTimeout(r, 300));
      rmSync(state, { recursive: true, force: true });
    },
  };
  await waitFor("wrangler dev", async () => (await fetch(`${base}/healthz`)).ok || false, 60_000, worker.log);
  return worker;
}

/** Headless Chromium with the house flags (a fresh profile per launch). */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A demo-tenant token with `scope` (as the shop's backend would mint it). */
export function demoToken(scope: string): Promise<string> {
  return new SignJWT({ scope })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("https://demo.edgewise.local")
    .setAudience("edgewise")
    .setSubject("storefront-test")
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(new TextEncoder().encode(DEMO_JWT_SECRET));
}

/** The calling visitor's session, read through the public API. */
export async function session(
  base: string,
  token: string,
): Promise<{ events_applied: number; features: Record<string, unknown>; recent_events: Array<{ id: string; type: string; properties: Record<string, unknown> }> }> {
  const res = await fetch(`${base}/v1/session`, { headers: { "x-edgewise-key": KEY, "x-edgewise-visitor": token } });
  if (res.status !== 200) throw new Error(`GET /v1/session → ${res.status} ${await res.text()}`);
  return (await res.json()) as never;
}
