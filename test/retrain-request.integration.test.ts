import { createExecutionContext, createMessageBatch, getQueueResult, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { ImpressionMessage, RetrainRequest } from "../src/contracts/queue";
import worker from "../src/index";
import type { MonitorDO } from "../src/mlops/monitor/monitor-do";
import { RETRAIN_WINDOW_MS } from "../src/mlops/retrain/requests";
import { requestKey } from "../src/mlops/retrain/runs";
import { sequenceInput } from "../src/models/inputs";
import { buildModelVersion } from "../src/offline/export/model-version";
import { chainWeights } from "./models";

// Drift at "act" → the tenant's MonitorDO sends `retrain_requested` on the real RETRAIN
// queue → the worker's consumer parks it in R2 → the dashboard API shows it and its outcome.

const weights = chainWeights(40);
const vocab = new Map(weights.items.map((item, i) => [item, i + 1]));
const viewed = (length: number, offset: number) => Array.from({ length }, (_, i) => weights.items[(offset + i) % weights.items.length]!);

/** A model whose training inputs held 1–3 known items (the drift fixture of mlops-drift.integration.test.ts). */
async function publishModel(name: string): Promise<string> {
  const trainingInputs = [1, 2, 3].flatMap((length) => Array.from({ length: 30 }, (_, i) => sequenceInput(viewed(length, i), vocab)));
  const { files } = await buildModelVersion(weights, {
    name,
    version: "1",
    createdAt: new Date(Date.now() - 30 * 86_400_000).toISOString(),
    training: { data: "retrain fixture", window: null, sessions: 90, examples: 90 },
    metrics: {},
    trainingInputs,
    popular: weights.items.slice(0, 10),
  });
  for (const [file, bytes] of Object.entries(files)) await env.MODELS.put(`models/${name}/1/${file}`, bytes);
  return `${name}/1`;
}

let seq = 0;
function impression(tenant: string, model: string, items: string[], at: number): ImpressionMessage {
  const input = sequenceInput(items, vocab);
  return {
    kind: "impression",
    schema_version: 1,
    tenant,
    visitor_id: `v${seq % 31}`,
    impression_id: `imp-${tenant}-${seq++}`,
    served_at: at,
    type: "personalized",
    experiment: null,
    variant: "default",
    model,
    degraded: null,
    latency_ms: 10,
    features: { source: { visit_viewed_items: items }, item_idx: input.idx, item_w: input.w },
    items: viewed(4, seq).map((item_id, i) => ({ item_id, position: i + 1, score: 2 - i * 0.1 })),
  };
}

/** Through the real queue handler, like the platform delivers the events queue. */
async function consume(messages: unknown[]): Promise<void> {
  const batch = createMessageBatch(
    "edgewise-events",
    messages.map((body, j) => ({ id: `m-${seq}-${j}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  expect((await getQueueResult(batch, ctx)).retryMessages).toEqual([]);
}

/** Counts the object's sends on its real RETRAIN queue binding (the sends still go through). */
async function countSends(stub: DurableObjectStub<MonitorDO>): Promise<{ count: () => number }> {
  let n = 0;
  await runInDurableObject(stub, (instance) => {
    const own = instance as unknown as { env: Env };
    const queue = own.env.RETRAIN;
    own.env = {
      ...own.env,
      RETRAIN: { send: (body: unknown, o?: QueueSendOptions) => (n++, queue.send(body, o)), sendBatch: (b: Iterable<MessageSendRequest>, o?: QueueSendBatchOptions) => queue.sendBatch(b, o) } as Queue,
    };
  });
  return { count: () => n };
}

describe("drift at act asks for a retrain (MonitorDO → RETRAIN queue → R2)", () => {
  it("sends exactly one retrain_requested per model and window, and the dashboard shows it and what came of it", async () => {
    const tenant = "retrain-a";
    const model = await publishModel("retrain-drift");
    const stub = env.MONITOR.getByName(tenant);
    const sends = await countSends(stub);
    const now = Date.now();
    // 100 lists with six known items: training never had more than three (PSI far above 0.25).
    await consume(Array.from({ length: 100 }, (_, i) => impression(tenant, model, viewed(6, i), now - i * 1000)));
    // The ingest set the alarm for now; it judges drift and sends the request (runs it unless it already fired).
    await runDurableObjectAlarm(stub);
    const day = Math.floor(now / RETRAIN_WINDOW_MS) * RETRAIN_WINDOW_MS;
    const parked = await vi.waitUntil(async () => (await env.MODELS.get(requestKey(tenant, model, day)))?.json<RetrainRequest>(), { timeout: 10_000, interval: 50 });
    expect(parked).toMatchObject({ kind: "retrain_requested", tenant, model, id: `${tenant}:${model}:${day}`, window: { from: day, to: day + RETRAIN_WINDOW_MS } });
    expect(parked.reasons.join(" ")).toMatch(/PSI/);
    expect(sends.count()).toBe(1);

    // More drifting traffic, another alarm and two direct checks in the same window: no second request.
    await consume(Array.from({ length: 60 }, (_, i) => impression(tenant, model, viewed(6, i + 3), now - i * 500)));
    await runDurableObjectAlarm(stub);
    await stub.checkDrift(tenant);
    const listed = await stub.checkDrift(tenant);
    expect(sends.count()).toBe(1);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: parked.id, model, status: "sent", channel: "queue" });

    // The dashboard API shows the request; once a retrain run answers it, its outcome too.
    const before = (await stub.dashboard(tenant, 24)).retrain;
    expect(before.requests).toMatchObject([{ id: parked.id, status: "sent", outcome: null }]);
    const run = {
      run: "20261204T120000000Z-r2",
      started_at: new Date(now).toISOString(),
      request: parked.id,
      champion: model,
      challenger: "retrain-drift/r2",
      verdict: "published",
      reasons: ["hr@20 better by the margin: …"],
      rollout: { id: "ro1" },
    };
    await env.MODELS.put(`retrain/${tenant}/runs/${run.run}.json`, JSON.stringify(run));
    const after = (await stub.dashboard(tenant, 24)).retrain;
    expect(after.requests[0]!.outcome).toMatchObject({ verdict: "published", challenger: "retrain-drift/r2", rollout: "ro1" });
    expect(after.runs).toHaveLength(1);

    // The next window asks again, once.
    const next = day + RETRAIN_WINDOW_MS + 3_600_000;
    await consume(Array.from({ length: 60 }, (_, i) => impression(tenant, model, viewed(6, i), next + i)));
    await stub.checkDrift(tenant, next + 120_000);
    await stub.checkDrift(tenant, next + 180_000);
    expect(sends.count()).toBe(2);
    await vi.waitUntil(() => env.MODELS.head(requestKey(tenant, model, day + RETRAIN_WINDOW_MS)), { timeout: 10_000, interval: 50 });
  });

  it("a model whose inputs look like training asks for nothing", async () => {
    const tenant = "retrain-b";
    const model = await publishModel("retrain-steady");
    const stub = env.MONITOR.getByName(tenant);
    const sends = await countSends(stub);
    const now = Date.now();
    await consume([1, 2, 3].flatMap((length) => Array.from({ length: 30 }, (_, i) => impression(tenant, model, viewed(length, i), now - i * 1000))));
    await runDurableObjectAlarm(stub);
    expect(await stub.checkDrift(tenant)).toEqual([]);
    expect(sends.count()).toBe(0);
  });
});
