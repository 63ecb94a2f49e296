import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { EventMessage } from "../src/contracts/queue";
import worker from "../src/index";
import { eventLogKey } from "../src/pipeline/event-log";
import { MAX_LINES_PER_MESSAGE, MAX_MESSAGE_BYTES, packLines } from "../src/pipeline/pack";
import { readEventLog } from "./r2";

afterEach(() => {
  vi.restoreAllMocks();
});

const received = Date.UTC(2026, 10, 25, 9, 59, 59, 500);

function message(visitor: string, seq: number, receivedAt = received, tenant = "shop-a"): EventMessage {
  return {
    kind: "event",
    schema_version: 1,
    tenant,
    visitor_id: visitor,
    seq,
    received_at: receivedAt,
    event: { id: `${visitor}-${seq}`, type: "page_view", timestamp: receivedAt - 1000, properties: {} },
  };
}

function batchOf(bodies: unknown[], queue = "edgewise-events") {
  return createMessageBatch(
    queue,
    bodies.map((body, i) => ({ id: `msg-${i}-${Math.random().toString(36).slice(2)}`, timestamp: new Date(received), attempts: 1, body })),
  );
}

describe("queue consumer", () => {
  it("groups a batch by tenant and hour, one NDJSON object per partition, and acks every message", async () => {
    const bodies = [message("u1", 1), message("u1", 2, received + 100), message("u2", 1, received, "shop-b")];
    const batch = batchOf(bodies);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual(batch.messages.map((m) => m.id).sort());

    const a = await readEventLog("events/tenant=shop-a/dt=2026-11-25/hour=09/");
    const b = await readEventLog("events/tenant=shop-b/dt=2026-11-25/hour=09/");
    expect(a.filter((x) => x.line.visitor_id === "u1").map((x) => x.line.seq)).toEqual([1, 2]);
    expect(new Set(a.map((x) => x.key)).size).toBe(1);
    expect(b.map((x) => x.line)).toEqual([bodies[2]]);
  });

  it("splits messages received in different hours into their own partitions", async () => {
    const late = received + 1000; // 10:00:00.500
    const batch = batchOf([message("u3", 1), message("u3", 2, late)]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    await getQueueResult(batch, ctx);
    const h10 = await readEventLog("events/tenant=shop-a/dt=2026-11-25/hour=10/");
    expect(h10.filter((x) => x.line.visitor_id === "u3").map((x) => x.line.seq)).toEqual([2]);
    expect(eventLogKey("shop-a", late, "n")).toBe("events/tenant=shop-a/dt=2026-11-25/hour=10/n.ndjson");
  });

  it("a redelivered batch overwrites its own object instead of duplicating lines", async () => {
    const bodies = [message("u4", 1), message("u4", 2)];
    const ids = ["fixed-1", "fixed-2"];
    for (let i = 0; i < 2; i++) {
      const batch = createMessageBatch(
        "edgewise-events",
        bodies.map((body, j) => ({ id: ids[j]!, timestamp: new Date(received), attempts: i + 1, body })),
      );
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      await getQueueResult(batch, ctx);
    }
    expect((await readEventLog()).filter((x) => x.line.visitor_id === "u4")).toHaveLength(2);
  });

  it("acks poison at once after handing it to the dead-letter queue; good messages still land", async () => {
    const send = vi.spyOn(env.DEAD_LETTERS, "sendBatch");
    const batch = batchOf([message("u5", 1), { hello: "world" }, "text", { ...message("u5", 2), schema_version: 2 }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toHaveLength(4);
    expect(result.retryMessages).toEqual([]);
    expect(send).toHaveBeenCalledTimes(1);
    const dead = send.mock.calls[0]![0] as Array<{ body: { reason: string; message_id: string } }>;
    expect(dead.map((d) => d.body.message_id)).toEqual([batch.messages[1]!.id, batch.messages[2]!.id, batch.messages[3]!.id]);
    expect(dead.every((d) => d.body.reason === "poison")).toBe(true);
    expect((await readEventLog()).filter((x) => x.line.visitor_id === "u5").map((x) => x.line.seq)).toEqual([1]);
  });

  it("retries each message (and acks none) when the R2 write fails", async () => {
    // R2 is a platform boundary: fault injection there, the consumer stays real.
    vi.spyOn(env.EVENT_LOG, "put").mockRejectedValue(new Error("R2 unavailable (injected)"));
    const batch = batchOf([message("u6", 1), message("u6", 2)]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((r: { msgId: string }) => r.msgId).sort()).toEqual(batch.messages.map((m) => m.id).sort());
    expect(result.outcome).toBe("ok"); // never throws
  });

  it("parks dead letters under dead-letter/ and acks them", async () => {
    const batch = batchOf([{ reason: "poison", body: { x: 1 } }, { big: 1n }], "edgewise-events-dlq");
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toHaveLength(2);
    const key = `dead-letter/dt=2026-11-25/${batch.messages[1]!.id}.json`;
    const stored = (await (await env.EVENT_LOG.get(key))!.json()) as { body: { big: string } };
    expect(stored.body).toEqual({ big: "1" });
  });
});

describe("line batches", () => {
  it("logs every line of a packed message once, and acks the message only when all its lines landed", async () => {
    const lines = Array.from({ length: 30 }, (_, i) => message("lb1", i + 1));
    const packed = packLines(
      "shop-a",
      lines.map((l) => JSON.stringify(l)),
    ).map((p) => JSON.parse(p.json) as unknown);
    expect(packed).toHaveLength(1);
    const ok = batchOf(packed);
    const ctx = createExecutionContext();
    await worker.queue(ok, env, ctx);
    expect((await getQueueResult(ok, ctx)).explicitAcks).toEqual([ok.messages[0]!.id]);
    const logged = (await readEventLog("events/tenant=shop-a/")).filter((x) => x.line.visitor_id === "lb1");
    expect(logged.map((x) => x.line.seq)).toEqual(lines.map((l) => l.seq));

    // Lines of one message in two hours: when one partition's write fails, the whole message is retried.
    const split = JSON.parse(
      packLines(
        "shop-a",
        [message("lb2", 1), message("lb2", 2, received + 1000)].map((l) => JSON.stringify(l)),
      )[0]!.json,
    ) as unknown;
    const batch = batchOf([split]);
    const real = env.EVENT_LOG.put.bind(env.EVENT_LOG);
    vi.spyOn(env.EVENT_LOG, "put").mockImplementation((key, value, opts) => (String(key).includes("hour=10") ? Promise.reject(new Error("R2 unavailable (injected)")) : real(key, value, opts)));
    const ctx2 = createExecutionContext();
    await worker.queue(batch, env, ctx2);
    const result = await getQueueResult(batch, ctx2);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((r: { msgId: string }) => r.msgId)).toEqual([batch.messages[0]!.id]);
  });

  it("packs within the queue's message size and line limits, in order", () => {
    const big = Array.from({ length: 250 }, (_, i) => JSON.stringify({ ...message("lb3", i + 1), pad: "x".repeat(1500) }));
    const packed = packLines("shop-a", big);
    expect(packed.reduce((n, p) => n + p.lines, 0)).toBe(250);
    for (const p of packed) {
      expect(new TextEncoder().encode(p.json).byteLength).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
      expect(p.lines).toBeLessThanOrEqual(MAX_LINES_PER_MESSAGE);
    }
    const seqs = packed.flatMap((p) => (JSON.parse(p.json) as { lines: Array<{ seq: number }> }).lines.map((l) => l.seq));
    expect(seqs).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(
      packLines(
        "shop-a",
        Array.from({ length: 150 }, (_, i) => JSON.stringify(message("lb4", i + 1))),
      ).map((p) => p.lines),
    ).toEqual([100, 50]);
  });

  it("treats a line batch with a line of another tenant as poison", async () => {
    const body = { kind: "lines", schema_version: 1, tenant: "shop-a", lines: [message("lb5", 1), message("lb5", 2, received, "shop-b")] };
    const sent: unknown[] = [];
    const batch = batchOf([body]);
    const ctx = createExecutionContext();
    await worker.queue(
      batch,
      {
        ...env,
        DEAD_LETTERS: {
          ...env.DEAD_LETTERS,
          sendBatch: async (m: Iterable<MessageSendRequest>) => (sent.push(...[...m].map((x) => x.body)), { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } }),
        } as unknown as Queue,
      },
      ctx,
    );
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual([batch.messages[0]!.id]);
    expect(sent).toHaveLength(1);
    expect((await readEventLog("events/tenant=shop-a/")).filter((x) => x.line.visitor_id === "lb5")).toEqual([]);
  });
});
