import { app } from "./app";
import { loadConfig } from "./config";
import { createLogger } from "./http/log";
import { consumeDeadLetters, consumeEvents } from "./pipeline/consumer";

export { SessionDO } from "./session/session-do";

/** Worker entry: the HTTP API and the consumers of the event queue and its dead-letter queue. */
export default {
  fetch: app.fetch,
  async queue(batch, env, _ctx) {
    const log = createLogger(loadConfig(env).logLevel, { component: "queue_consumer", queue: batch.queue });
    // Queue names are set in wrangler.toml; the dead-letter queue is the one named *-dlq.
    if (batch.queue.endsWith("-dlq")) await consumeDeadLetters(batch, env, log);
    else await consumeEvents(batch, env, log);
  },
} satisfies ExportedHandler<Env, unknown>;
