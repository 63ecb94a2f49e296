import { describe, expect, it } from "vitest";
import { SEQ_LEN, sequenceInput } from "../src/models/inputs";
import { referenceTopK } from "../src/models/onnx/session-topk";
import { parseClickTable, parseSessions, validationSplit } from "../src/offline/data/sessions";
import { evaluationPoints } from "../src/offline/eval/metrics";
import { buildModelVersion, sha256Hex } from "../src/offline/export/model-version";
import { modelVocab, scoreItems } from "../src/offline/train/session-model";
import { trainSessionModelFast } from "../src/offline/train/session-model-fast";
import { ITEMS, chainSessions, item } from "./chain-sessions";

describe("Diginetica session files", () => {
  it("parses one session per line and splits off the last sessions", () => {
    const sessions = parseSessions("1 2\n3 4 5\n\n6 7\r\n8 9 9\n");
    expect(sessions).toEqual([
      ["1", "2"],
      ["3", "4", "5"],
      ["6", "7"],
      ["8", "9", "9"],
    ]);
    expect(evaluationPoints(sessions)).toBe(1 + 2 + 1 + 2);
    expect(validationSplit(sessions, 0.25)).toEqual({ train: sessions.slice(0, 3), test: sessions.slice(3) });
  });

  it("reads session-rec click tables: clicks by time, sessions by their first click, one-click sessions dropped", () => {
    // Columns in any order; a session's clicks out of order in the file; ties keep file order.
    const table = "ItemId\tSessionId\tTime\nb\t2\t20\na\t1\t15\nc\t2\t10\nz\t3\t5\nd\t2\t20\ne\t1\t16\r\n\n";
    expect(parseClickTable(table)).toEqual([
      ["c", "b", "d"],
      ["a", "e"],
    ]);
    expect(() => parseClickTable("session,item,time\n1,a,1\n")).toThrow(/SessionId, ItemId and Time/);
    expect(() => parseClickTable("SessionId\tItemId\tTime\n1\ta\tsoon\n")).toThrow(/line 2/);
  });
});

describe("fast session-model trainer", () => {
  const sessions = chainSessions();
  const model = trainSessionModelFast(sessions, { seed: 3, dim: 16, epochs: 8, negatives: 8, schedule: "linear", optimizer: "rowwise" });
  const vocab = modelVocab(model);
  const params = { numItems: model.items.length, dim: model.dim, seqLen: SEQ_LEN, embIn: model.embIn, embOut: model.embOut, bias: model.bias };

  it("lowers the loss and learns the chain", () => {
    expect(model.epochLosses).toHaveLength(8);
    expect(model.epochLosses.at(-1)!).toBeLessThan(model.epochLosses[0]! * 0.8);
    let right = 0;
    for (let i = 0; i < ITEMS; i++) {
      const input = sequenceInput([item(i)], vocab);
      if (model.items[referenceTopK(params, input.idx, input.w, 1).indices[0]! - 1] === item(i + 1)) right++;
    }
    expect(right).toBeGreaterThanOrEqual(ITEMS * 0.8);
  });

  it("scores exactly as the exported graph's reference does", () => {
    const prefixes = [[item(0)], [item(4), item(5)], [item(9), item(9), item(10)], sessions[0]!, sessions[1]!, Array.from({ length: 25 }, (_, i) => item(i * 7))];
    for (const prefix of prefixes) {
      const input = sequenceInput(prefix, vocab);
      const ref = referenceTopK(params, input.idx, input.w, 10);
      const logits = scoreItems(model, prefix, vocab);
      const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
      expect(order.slice(0, 10)).toEqual(ref.indices);
      ref.indices.forEach((ix, r) => expect(logits[ix]!).toBeCloseTo(ref.scores[r]!, 4));
    }
  });

  it("exports a model version whose manifest hashes its files", async () => {
    const inputs = sessions.flatMap((s) => s.slice(1).map((_, i) => sequenceInput(s.slice(0, i + 1), vocab)));
    const { files, manifest } = await buildModelVersion(model, {
      name: "chain",
      version: "1",
      createdAt: "2026-01-01T00:00:00.000Z",
      training: { data: "generated chain sessions", window: null, sessions: sessions.length, examples: inputs.length },
      metrics: { final_loss: model.finalLoss },
      trainingInputs: inputs,
      popular: model.popularity.map((p) => p.item_id),
    });
    expect(Object.keys(files).sort()).toEqual(["items.json", "manifest.json", "model.onnx"]);
    expect(Object.keys(manifest.files).sort()).toEqual(["items.json", "model.onnx"]);
    for (const [name, { sha256, bytes }] of Object.entries(manifest.files)) {
      expect(bytes).toBe(files[name]!.byteLength);
      expect(sha256).toBe(await sha256Hex(files[name]!));
    }
    expect(manifest.params).toMatchObject({ dim: 16, num_items: ITEMS, seq_len: SEQ_LEN });
    expect(JSON.parse(new TextDecoder().decode(files["items.json"]))).toEqual(model.items);
    expect(JSON.parse(new TextDecoder().decode(files["manifest.json"]))).toEqual(manifest);
  });
});
