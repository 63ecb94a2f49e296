import { env } from "cloudflare:workers";
import { app } from "./app";
import { loadConfig } from "./config";
import { createLogger } from "./http/log";
import { warmUpOrt } from "./models/ort";
import { consumeDeadLetters, consumeEvents } from "./pipeline/consumer";
import { consumeRetrainRequests } from "./mlops/retrain/consumer";
import { sweepEventLog } from "./privacy/retention";

export { SessionDO } from "./session/session-do";
export { TrendingDO } from "./trending/trending-do";
export { FreshDO } from "./fresh/fresh-do";
export { ProfileDO } from "./profile/profile-do";
export { MonitorDO } from "./mlops/monitor/monitor-do";

// Start the ONNX runtime's ~200 ms backend init at isolate start-up rather than
// on the first recommendation. Not awaited; a failure resurfaces on first use.
if (env.ORT_WARMUP !== "false") warmUpOrt().catch(() => undefined);

/** Worker entry: the HTTP API and the consumers of the event queue and its dead-letter queue. */
export default {
  fetch: app.fetch,
  async queue(batch, env, _ctx) {
    const log = createLogger(loadConfig(env).logLevel, { component: "queue_consumer", queue: batch.queue });
    // Queue names are set in wrangler.toml; the dead-letter queue is the one named *-dlq, retrain requests *-retrain.
    if (batch.queue.endsWith("-dlq")) await consumeDeadLetters(batch, env, log);
    else if (batch.queue.endsWith("-retrain")) await consumeRetrainRequests(batch, env, log);
    else await consumeEvents(batch, env, log);
  },
  /** Daily retention sweep of the R2 event log (cron in wrangler.toml). */
  async scheduled(_controller, env, _ctx) {
    const log = createLogger(loadConfig(env).logLevel, { component: "retention_sweep" });
    const swept = await sweepEventLog(env.EVENT_LOG);
    log.info("retention_sweep", swept);
  },
} satisfies ExportedHandler<Env, unknown>;
