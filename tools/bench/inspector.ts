/**
 * A minimal Chrome DevTools Protocol client for workerd's inspector: one
 * connection per isolate (the worker, each Durable Object namespace's host,
 * Miniflare's own queue, R2 and entry workers), used by the load test to force
 * a full garbage collection before it reads memory.
 */
import WebSocket from "ws";

/** One isolate's inspector session. */
export interface IsolateSession {
  /** The inspector's title, e.g. `core:user:` for the worker itself. */
  title: string;
  /** Sends a CDP command; rejects after `timeoutMs` (a busy isolate answers late, a dead one never). */
  call<T = unknown>(method: string, params?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  close(): void;
}

/** Opens a session to every isolate the inspector on `port` lists. */
export async function connectIsolates(port: number): Promise<IsolateSession[]> {
  const res = await fetch(`http://127.0.0.1:${port}/json/list`);
  if (!res.ok) throw new Error(`inspector on port ${port} answered ${res.status}`);
  const targets = (await res.json()) as Array<{ title: string; webSocketDebuggerUrl: string }>;
  return Promise.all(targets.map((t) => open(t.title.replace(/^workerd: worker /, ""), t.webSocketDebuggerUrl)));
}

async function open(title: string, url: string): Promise<IsolateSession> {
  const ws = new WebSocket(url);
  await new Promise<void>((ok, fail) => {
    ws.once("open", () => ok());
    ws.once("error", fail);
  });
  let next = 0;
  const pending = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = msg.id === undefined ? undefined : pending.get(msg.id);
    if (!waiter) return; // an event, or an answer that came after its timeout
    pending.delete(msg.id!);
    if (msg.error) waiter.fail(new Error(`${title}: ${msg.error.message}`));
    else waiter.ok(msg.result);
  });
  return {
    title,
    call<T>(method: string, params: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<T> {
      const id = ++next;
      return new Promise<T>((ok, fail) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          fail(new Error(`${title}: ${method} got no answer in ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          ok: (v) => (clearTimeout(timer), ok(v as T)),
          fail: (e) => (clearTimeout(timer), fail(e)),
        });
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    close: () => ws.close(),
  };
}

/**
 * Forces a full garbage collection in every isolate, then returns the sum of
 * their live JS heaps in MiB and how many isolates collected. Without it,
 * workerd's RSS under load mostly shows how lazily a dozen V8 heaps collect
 * garbage, not what is retained (design 0022).
 *
 * workerd runs the collection when the isolate next runs code and answers only
 * then: an isolate that stays idle for `waitMs` is not waited for (it allocates
 * nothing meanwhile; its collection runs when it wakes — Miniflare's `cache:*`
 * and `strip-cf-connecting-ip:*` workers never do). Call this under load.
 */
export async function collectGarbage(isolates: readonly IsolateSession[], waitMs = 5000): Promise<{ heapMiB: number; collected: number }> {
  const done = await Promise.all(
    isolates.map((s) =>
      s.call("HeapProfiler.collectGarbage", {}, waitMs).then(
        () => true,
        () => false,
      ),
    ),
  );
  let used = 0;
  for (const s of isolates) used += (await s.call<{ usedSize: number }>("Runtime.getHeapUsage")).usedSize;
  return { heapMiB: used / 2 ** 20, collected: done.filter(Boolean).length };
}
