import { env } from "cloudflare:workers";
import { vi } from "vitest";
import type { EventMessage } from "../src/events/types";

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
