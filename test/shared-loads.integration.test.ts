/**
 * Loads an isolate shares between requests (design 0030), through the real route in workerd.
 *
 * workerd ties I/O to the request that started it. A request that joined a model load another
 * request had started waited on that request's I/O: when the starter went away (cancelled, over
 * a limit) the load never settled, and the joined request never answered — here until the test
 * timed out; in production, a 500 "The Worker's code had hung and would never generate a
 * response".
 *
 * This test's own context plays the request that started the load: it calls `loadModel` with the
 * MODELS bucket behind a gate it holds, so the load's progress depends on this context's I/O only,
 * the way a real load depends on its starter's R2 reads; a gate never opened is a starter gone.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { type ModelBucket, loadModel } from "../src/models/registry";
import { SHOP_B, call } from "./helpers";
import { chainWeights, publishTestModel, setTenantConfig } from "./models";

interface RecoBody {
  model: string | null;
  degraded: string | null;
  items: Array<{ item_id: string }>;
}

const similar = async () => {
  const res = await call("/v1/recommendations?type=similar&item=sku-05&k=3", { headers: { "x-edgewise-key": SHOP_B.key } });
  const text = await res.text();
  return { status: res.status, text, body: (res.status === 200 ? JSON.parse(text) : null) as RecoBody | null };
};

/** The MODELS bucket whose reads wait for `gate`: R2 reads that only this test's context drives. */
const behind = (gate: Promise<void>): ModelBucket => ({
  get: async (key: string) => {
    await gate;
    return env.MODELS.get(key);
  },
});

beforeAll(async () => {
  // ORT's first session compiles its wasm (seconds): done here with another version, so the
  // versions under test load the way a warm isolate loads a newly activated one.
  await setTenantConfig(SHOP_B.id, { default_model: await publishTestModel("warm", "1", chainWeights(40)) });
  expect((await similar()).status).toBe(200);
}, 180_000);

describe("a request that needs a version another request is loading", () => {
  it("waits for that load and answers with the model", async () => {
    const model = await publishTestModel("joined", "1", chainWeights(40));
    await setTenantConfig(SHOP_B.id, { default_model: model });
    let open = () => {};
    const started = loadModel(behind(new Promise<void>((resolve) => (open = resolve))), model);
    const joined = similar();
    // The condition under test is time passing: the request's own reads (tenant config, catalog,
    // trending) finish within milliseconds, after which it has nothing of its own left to wait on.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    open();
    const answer = await joined;
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({ model, degraded: null });
    expect(answer.body?.items.map((i) => i.item_id)).toEqual(["sku-06", "sku-01", "sku-02"]);
    expect((await started).id).toBe(model);
  });

  it("gives up on a load that never finishes, and the next request loads the version afresh", async () => {
    const model = await publishTestModel("abandoned", "1", chainWeights(40));
    await setTenantConfig(SHOP_B.id, { default_model: model });
    // What joiners see when the starting request was cancelled: its reads were cancelled with it.
    // Requests joining this load wait for it 1 s (60 s by default) before giving up.
    void loadModel(behind(new Promise<void>(() => {})), model, 1000).catch(() => undefined);
    const joined = await similar();
    expect(joined.status, joined.text).toBe(200);
    expect(joined.body).toMatchObject({ model: null, degraded: "model_unavailable" });
    const next = await similar();
    expect(next.status, next.text).toBe(200);
    expect(next.body).toMatchObject({ model, degraded: null });
  });
});
