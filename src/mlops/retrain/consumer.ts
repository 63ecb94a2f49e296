import * as v from "valibot";
import { RetrainRequestSchema } from "../../contracts/queue";
import type { Logger } from "../../http/log";
import { requestKey } from "./runs";

/**
 * Consumer of the retrain queue: parks each `retrain_requested` message in the models
 * bucket (`retrain/<tenant>/requests/<name>@<version>-<window>.json`), where the
 * scheduler finds it. Idempotent (one key per model and window); an invalid message is
 * logged and dropped, a failed write retried.
 */
export async function consumeRetrainRequests(batch: MessageBatch<unknown>, env: Env, log: Logger): Promise<void> {
  for (const m of batch.messages) {
    const parsed = v.safeParse(RetrainRequestSchema, m.body);
    if (!parsed.success) {
      log.warn("retrain_request_invalid", { message_id: m.id });
      m.ack();
      continue;
    }
    const r = parsed.output;
    try {
      await env.MODELS.put(requestKey(r.tenant, r.model, r.window.from), JSON.stringify(r), { httpMetadata: { contentType: "application/json" } });
      m.ack();
      log.info("retrain_requested", { tenant: r.tenant, model: r.model, id: r.id });
    } catch (err) {
      m.retry({ delaySeconds: 30 });
      log.error("retrain_request_park_failed", { id: r.id, error: err instanceof Error ? err.message : String(err) });
    }
  }
}
