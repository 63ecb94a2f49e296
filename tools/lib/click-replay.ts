/**
 * Replaying session-rec click files (`SessionId<TAB>ItemId<TAB>Time`) through a running
 * service: the pieces `tools/cli/yoochoose-e2e.ts` and `tools/cli/fresh-e2e.ts` share.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { progressBar } from "./progress";

/** The demo tenant's publishable key (what `npm run dev` serves). */
export const DEMO_KEY = "pk_demo_edgewise";

export interface Click {
  session: string;
  item: string;
  time: number;
}

/** Clicks per session, each session's by time. */
export function readClicks(file: string): Map<string, Click[]> {
  const sessions = new Map<string, Click[]>();
  for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
    const [session, item, time] = line.trim().split("\t");
    if (!session || !item || !time) continue;
    const list = sessions.get(session) ?? [];
    list.push({ session, item, time: Math.round(Number(time) * 1000) });
    sessions.set(session, list);
  }
  for (const list of sessions.values()) list.sort((a, b) => a.time - b.time);
  return sessions;
}

/** The sessions in start order (ties by session id). */
export function byStart(sessions: ReadonlyMap<string, Click[]>): Click[][] {
  return [...sessions.values()].sort((a, b) => a[0]!.time - b[0]!.time || (a[0]!.session < b[0]!.session ? -1 : 1));
}

/** Runs `fn` over `items`, `n` at a time, with a progress bar. */
export async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>, label: string): Promise<void> {
  let next = 0;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        await fn(items[next++]!);
        if (++done % 200 === 0 || done === items.length) progressBar(label, done, items.length, started);
      }
    }),
  );
}

/** `wrangler dev` on its own local state, quiet logs, the registry refreshed every second. */
export class Service {
  private child: ChildProcess | null = null;
  constructor(
    readonly port: number,
    private readonly state: string,
  ) {}
  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const args = ["dev", "--ip", "127.0.0.1", "--port", String(this.port), "--inspector-port", String(this.port + 1000), "--persist-to", this.state];
    this.child = spawn("node_modules/.bin/wrangler", [...args, "--var", "LOG_LEVEL:warn", "--var", "REGISTRY_REFRESH_SECONDS:1"], {
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
      stdio: ["ignore", "ignore", "inherit"],
    });
    for (let i = 0; i < 120; i++) {
      try {
        if ((await fetch(`${this.base}/healthz`)).ok) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error("wrangler dev did not come up within 60 s");
  }
  async stop(): Promise<void> {
    if (!this.child) return;
    const exited = new Promise((r) => this.child!.once("exit", r));
    this.child.kill("SIGTERM");
    await exited;
    this.child = null;
  }
}

/** Waits as a 429's Retry-After says (seconds). */
export async function retryAfter(res: Response): Promise<void> {
  await res.body?.cancel();
  await new Promise((r) => setTimeout(r, 1000 * Math.max(1, Number(res.headers.get("retry-after") ?? 1))));
}

/**
 * Posts events for a visitor (`null`: a new one) and returns the visitor token. Every replayed
 * visitor comes from one address, so a 429 paces the replay as it would a shop; a 503 is safe
 * to retry (a few times); anything else, or a rejected event, throws.
 */
export async function postEvents(base: string, visitor: string | null, events: unknown[]): Promise<string> {
  const headers: Record<string, string> = { "content-type": "application/json", "x-edgewise-key": DEMO_KEY };
  if (visitor) headers["x-edgewise-visitor"] = visitor;
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${base}/v1/events`, { method: "POST", headers, body: JSON.stringify({ events }) });
    if (res.status === 429) {
      await retryAfter(res);
      attempt--;
      continue;
    }
    const body = (await res.json()) as { rejected?: number };
    if (res.status === 202 && body.rejected === 0) return res.headers.get("x-edgewise-visitor")!;
    if (res.status !== 503 || attempt > 5) throw new Error(`POST /v1/events → ${res.status} ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
