import { createExecutionContext, createMessageBatch, getQueueResult, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { sessionStub } from "../../src/session/stub";
import { SHOP_A, SHOP_B, getSession, newVisitor, postEvents, visitorIdOf } from "../helpers";
import { readEventLog } from "../r2";
import { summary } from "./harness";

/**
 * The delivery ledger under faults. Everything of ours is real (route,
 * SessionDO, outbox, consumer, R2 writes); the faults are injected at the
 * platform boundaries: the EVENTS binding the SessionDO sends to (it refuses
 * some sendBatch calls, and accepts half of others before failing), the R2
 * bucket the consumer writes to (some puts fail), and the queue's delivery,
 * which this test plays itself with the platform's semantics: at-least-once
 * (some messages delivered twice), per-message retry, max_retries 5, then the
 * dead-letter queue.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

const VISITORS = 10;
const BATCHES = 5;
const EVENTS_PER_BATCH = 8; // the last one of each batch is invalid
const MAX_RETRIES = 5; // wrangler.toml, edgewise-events
const POISON = [{ kind: "event", schema_version: 99, marker: "ledger-poison-0" }, "ledger-poison-1", { marker: "ledger-poison-2", kind: "impression" }, [1, "ledger-poison-3"]];

/** Deterministic fault pattern by call number (no randomness: a failure reproduces). */
const refuseSend = (call: number) => call % 5 === 2;
const acceptHalfThenFail = (call: number) => call % 7 === 3;
const failPut = (call: number) => call % 3 === 1;

/** What a queue answers a send with (the metrics are not used here). */
const SENT = { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };

interface Delivery {
  id: string;
  body: unknown;
  attempts: number;
}

describe("delivery ledger under faults", () => {
  it("sent = applied + duplicates + rejected; nothing lost; the log holds every accepted event once after dedup; DLQ = poison", async () => {
    // ── the queue boundary the SessionDOs send to: captured, with injected failures ──
    const captured: unknown[] = [];
    let sendCalls = 0;
    const faultySendBatch = async (messages: Iterable<MessageSendRequest>): Promise<QueueSendBatchResponse> => {
      const call = sendCalls++;
      const list = [...messages];
      if (refuseSend(call)) throw new Error("Queue send failed (injected)");
      if (acceptHalfThenFail(call)) {
        // The queue took part of the batch and still reported a failure: those will be sent again.
        for (const m of list.slice(0, Math.ceil(list.length / 2))) captured.push(structuredClone(m.body));
        throw new Error("Queue send failed after a partial write (injected)");
      }
      for (const m of list) captured.push(structuredClone(m.body));
      return SENT;
    };

    // ── clients: every batch retried until 202, then sent once more (a duplicate submission) ──
    // Visitors of two tenants, so a consumer batch spans several partitions (one R2 object each) and can fail part-way.
    const shops = Array.from({ length: VISITORS }, (_, i) => (i % 2 === 0 ? SHOP_A : SHOP_B));
    const tokens = await Promise.all(shops.map((shop) => newVisitor(shop.key)));
    const shopOf = new Map(tokens.map((t, i) => [t, shops[i]!]));
    for (const token of tokens) {
      await runInDurableObject(sessionStub(env, shopOf.get(token)!.id, visitorIdOf(token)), (instance) => {
        const queue = (instance as unknown as { env: Env }).env.EVENTS;
        vi.spyOn(queue, "sendBatch").mockImplementation(faultySendBatch);
      });
    }
    const ledger = { submissions: 0, in202: 0, accepted: 0, duplicate: 0, rejected: 0, unavailable: 0 };
    const valid = new Map<string, Set<string>>(); // visitor id → event ids
    const now = Date.now();
    for (let b = 0; b < BATCHES; b++) {
      for (const token of tokens) {
        const vid = visitorIdOf(token);
        const events = Array.from({ length: EVENTS_PER_BATCH }, (_, i) =>
          i === EVENTS_PER_BATCH - 1
            ? { id: `bad-${b}`, type: "teleport", timestamp: now }
            : { id: `ev-${b}-${i}`, type: "product_view", timestamp: now - 1000 + b * 10 + i, properties: { item_id: `sku-${b}-${i}` } },
        );
        for (const e of events.slice(0, -1)) (valid.get(vid) ?? valid.set(vid, new Set()).get(vid)!).add(e.id);
        for (let copy = 0; copy < 2; copy++) {
          for (let attempt = 0; ; attempt++) {
            expect(attempt, "a batch never got a 202").toBeLessThan(20);
            ledger.submissions += events.length;
            const res = await postEvents(events, { visitor: token, key: shopOf.get(token)!.key });
            if (res.status === 503) {
              expect(await res.json()).toMatchObject({ error: { code: "enqueue_failed" } });
              ledger.unavailable++;
              continue;
            }
            expect(res.status).toBe(202);
            const body = (await res.json()) as { accepted: number; duplicate: number; rejected: number };
            ledger.in202 += events.length;
            ledger.accepted += body.accepted;
            ledger.duplicate += body.duplicate;
            ledger.rejected += body.rejected;
            break;
          }
        }
      }
    }
    expect(ledger.unavailable).toBeGreaterThan(0); // the faults did fire

    // The SessionDOs' ground truth: each valid event applied once, outboxes empty.
    const distinctValid = [...valid.values()].reduce((n, s) => n + s.size, 0);
    let applied = 0;
    for (const token of tokens) {
      const s = await getSession(token, shopOf.get(token)!.key);
      applied += s.events_applied;
      expect(s.pending_forward).toBe(0);
    }
    expect(applied).toBe(distinctValid);
    expect(ledger.in202).toBe(ledger.accepted + ledger.duplicate + ledger.rejected);
    expect(ledger.rejected).toBe(VISITORS * BATCHES * 2); // one invalid event per submission that got a 202
    // Events applied during an attempt that answered 503 are reported "duplicate" by the retry: none is counted twice, none missing.
    const appliedIn503 = distinctValid - ledger.accepted;
    expect(appliedIn503).toBeGreaterThanOrEqual(0);
    expect(ledger.duplicate).toBe(appliedIn503 + distinctValid); // + the deliberate second copy of every batch
    vi.restoreAllMocks();

    // ── the queue: the captured messages, poison, and platform redeliveries of some messages ──
    let nextId = 0;
    const pending: Delivery[] = captured.map((body) => ({ id: `m-${nextId++}`, body, attempts: 1 }));
    const redelivered = pending.filter((_, i) => i % 10 === 0).map((d) => ({ ...d })); // same message id, delivered twice
    pending.push(...redelivered, ...POISON.map((body) => ({ id: `m-${nextId++}`, body, attempts: 1 })));
    const deadLettered: unknown[] = [];
    let exhausted = 0;
    let puts = 0;
    const consumerEnv: Env = {
      ...env,
      EVENT_LOG: new Proxy(env.EVENT_LOG, {
        get(target, prop) {
          if (prop === "put") {
            return (...args: Parameters<R2Bucket["put"]>) => (failPut(puts++) ? Promise.reject(new Error("R2 put failed (injected)")) : target.put(...args));
          }
          const value = Reflect.get(target, prop) as unknown;
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
      DEAD_LETTERS: {
        send: async (body: unknown) => (deadLettered.push(body), SENT),
        sendBatch: async (messages: Iterable<MessageSendRequest>) => (deadLettered.push(...[...messages].map((m) => m.body)), SENT),
        metrics: () => env.DEAD_LETTERS.metrics(),
      } satisfies Queue,
    };
    let rounds = 0;
    let partialBatches = 0;
    while (pending.length > 0) {
      expect(rounds++, "the queue did not drain").toBeLessThan(100);
      const take = pending.splice(0, 40);
      const batch = createMessageBatch(
        "edgewise-events",
        take.map((d) => ({ id: d.id, timestamp: new Date(now), attempts: d.attempts, body: d.body })),
      );
      const ctx = createExecutionContext();
      await worker.queue(batch, consumerEnv, ctx);
      const result = await getQueueResult(batch, ctx);
      expect(result.retryBatch.retry).toBe(false);
      expect(result.ackAll).toBe(false);
      const retried = new Set(result.retryMessages.map((r: { msgId: string }) => r.msgId));
      if (retried.size > 0 && retried.size < take.length) partialBatches++;
      for (const d of take) {
        if (!retried.has(d.id)) {
          expect(result.explicitAcks, `message ${d.id} was neither acked nor retried`).toContain(d.id);
          continue;
        }
        if (d.attempts > MAX_RETRIES) {
          exhausted++;
          deadLettered.push({ reason: "exhausted", body: d.body });
        } else pending.push({ ...d, attempts: d.attempts + 1 });
      }
    }
    expect(puts).toBeGreaterThan(0);
    expect(partialBatches, "no consumer batch failed part-way").toBeGreaterThan(0);

    // ── the dead-letter queue: parked in R2 ──
    const dlqBatch = createMessageBatch(
      "edgewise-events-dlq",
      deadLettered.map((body, i) => ({ id: `dlq-${i}`, timestamp: new Date(now), attempts: 1, body })),
    );
    const dlqCtx = createExecutionContext();
    await worker.queue(dlqBatch, env, dlqCtx);
    expect((await getQueueResult(dlqBatch, dlqCtx)).explicitAcks).toHaveLength(deadLettered.length);
    const parked = (await readEventLog("dead-letter/")).filter((x) => JSON.stringify(x.line).includes("ledger-poison"));

    // ── the R2 event log: every applied event exactly once after dedup by (visitor, event id) ──
    const ours = new Set(tokens.map(visitorIdOf));
    const lines = (await readEventLog("events/")).filter((x) => ours.has(x.line.visitor_id));
    const logged = new Map<string, Set<string>>();
    for (const { line } of lines) (logged.get(line.visitor_id) ?? logged.set(line.visitor_id, new Set()).get(line.visitor_id)!).add(line.event.id);
    const distinctLogged = [...logged.values()].reduce((n, s) => n + s.size, 0);
    for (const [vid, ids] of valid) expect([...(logged.get(vid) ?? [])].sort()).toEqual([...ids].sort());
    const lost = distinctValid - distinctLogged;
    expect(lost).toBe(0);
    expect(distinctLogged).toBe(applied);
    expect(exhausted).toBe(0);
    expect(parked).toHaveLength(POISON.length);
    expect(deadLettered).toHaveLength(POISON.length);

    summary("delivery", {
      event_submissions: ledger.submissions,
      answered_503: ledger.unavailable,
      sent_in_202: ledger.in202,
      applied,
      accepted: ledger.accepted,
      duplicates: ledger.duplicate,
      rejected: ledger.rejected,
      queue_messages: captured.length + redelivered.length,
      log_lines: lines.length,
      log_duplicates: lines.length - distinctLogged,
      lost,
      consumer_batches_failed_part_way: partialBatches,
      poison: POISON.length,
      dead_lettered: parked.length,
    });
  });
});
