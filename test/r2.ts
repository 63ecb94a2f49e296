import { env } from "cloudflare:workers";
import { vi } from "vitest";
import type { EventMessage } from "../src/contracts/queue";

/** Every event-log line under `prefix`, with the key of the object it came from. */
export async function readEventLog(prefix = "events/"): Promise<Array<{ key: string; line: EventMessage }>> {
  const out: Array<{ key: string; line: EventMessage }> = [];
  let cursor: string | undefined;
  do {
    const page = await env.EVENT_LOG.list({ prefix, cursor });
    for (const obj of page.objects) {
      const text = await (await env.EVENT_LOG.get(obj.key))!.text();
      for (const l of text.split("\n").filter(Boolean)) out.push({ key: obj.key, line: JSON.parse(l) as EventMessage });
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

/** Waits until the event log holds `count` lines for a visitor (the consumer runs asynchronously). */
export async function waitForVisitorLines(visitorId: string, count: number): Promise<Array<{ key: string; line: EventMessage }>> {
  return vi.waitUntil(
    async () => {
      const lines = (await readEventLog()).filter((x) => x.line.visitor_id === visitorId);
      return lines.length >= count ? lines : false;
    },
    { timeout: 10_000, interval: 50 },
  );
}

/**
 * Waits until everything a visitor's session forwarded before now has reached the log,
 * instead of sleeping and hoping: sends `marker` (an event the visitor's consent lets
 * through) after the events under test and waits for its line. The SessionDO sends its
 * outbox in seq order and the consumer writes a batch before the next, so once the
 * marker is logged no earlier line is still on its way. Returns the marker's id, for
 * callers to leave it out of their counts.
 */
export async function settleVisitorLog(
  visitorId: string,
  send: (marker: { id: string; type: string; timestamp: number; properties: Record<string, unknown> }) => Promise<unknown>,
  marker?: { type: string; properties: Record<string, unknown> },
): Promise<string> {
  const id = `marker-${crypto.randomUUID()}`;
  await send({ id, timestamp: Date.now(), ...(marker ?? { type: "page_view", properties: { path: "/marker" } }) });
  await vi.waitUntil(async () => (await readEventLog()).some((x) => x.line.visitor_id === visitorId && x.line.event.id === id), { timeout: 10_000, interval: 50 });
  return id;
}
