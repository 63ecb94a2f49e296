import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { ErrorCode } from "../../src/http/errors";
import worker from "../../src/index";

/**
 * Every stable error code. `satisfies Record<ErrorCode, true>` makes this list
 * fail to compile when a code is added to or removed from `ErrorCode`.
 */
const CODES = {
  bad_request: true,
  malformed_json: true,
  invalid_body: true,
  empty_batch: true,
  missing_key: true,
  unknown_key: true,
  invalid_visitor: true,
  missing_token: true,
  invalid_token: true,
  insufficient_scope: true,
  forbidden: true,
  forbidden_origin: true,
  invalid_parameter: true,
  unknown_variant: true,
  unknown_model: true,
  conflict: true,
  not_found: true,
  method_not_allowed: true,
  payload_too_large: true,
  too_many_events: true,
  unsupported_media_type: true,
  rate_limited: true,
  enqueue_failed: true,
  identity_unavailable: true,
  erasure_incomplete: true,
  profile_unavailable: true,
  session_unavailable: true,
  misconfigured: true,
  internal_error: true,
} satisfies Record<ErrorCode, true>;
export const ERROR_CODES = new Set(Object.keys(CODES));

/** Counts what the worker sends to a queue, passing the calls through to the real binding. */
export function countingQueue(queue: Queue): { queue: Queue; sent: () => number } {
  let sent = 0;
  const counted: Queue = {
    send: (body, options) => ((sent += 1), queue.send(body, options)),
    sendBatch: (messages, options) => ((sent += [...messages].length), queue.sendBatch(messages, options)),
    metrics: () => queue.metrics(),
  } as Queue;
  return { queue: counted, sent: () => sent };
}

/**
 * Calls the worker's real fetch handler in this isolate (no network hop) with
 * `testEnv`, and waits for everything it deferred with `waitUntil`, so effects
 * after the response are counted too.
 */
export async function callWorker(request: Request, testEnv: Env = env): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, testEnv, ctx);
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  const empty = request.method === "HEAD" || [101, 204, 205, 304].includes(res.status);
  return new Response(empty ? null : body, { status: res.status, headers: res.headers });
}

/** A line of the reliability summary; `npm run test:reliability` prints them. */
export function summary(name: string, figures: Record<string, number | string>): void {
  console.log(
    `RELIABILITY ${name}: ${Object.entries(figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
  );
}
