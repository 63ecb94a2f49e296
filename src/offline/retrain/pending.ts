/**
 * Which parked retrain request a scheduled `npm run retrain -- --pending` answers: the
 * oldest one no run has answered yet. A request is answered by any run recorded against
 * it (`request` in `retrain/<tenant>/runs/…`), published or refused — the dashboard then
 * shows that outcome; a run that crashed before recording leaves it pending for the next
 * schedule. Reads the models bucket (or an exported copy of it) through two calls.
 */
import * as v from "valibot";
import { type RetrainRequest, RetrainRequestSchema } from "../../contracts/queue";
import { requestsPrefix, runsPrefix } from "../../mlops/retrain/keys";
import type { LogObjects } from "./log-window";

/** What the models bucket holds of a tenant's retrain requests and the runs that answered them. */
export interface RequestBook {
  /** Valid parked requests (unreadable objects are skipped and counted). */
  requests: RetrainRequest[];
  /** Ids of requests some run answered. */
  answered: Set<string>;
  skipped: number;
}

/** Reads a tenant's parked requests and the request ids of its run records. */
export async function readRequestBook(bucket: LogObjects, tenant: string): Promise<RequestBook> {
  const book: RequestBook = { requests: [], answered: new Set(), skipped: 0 };
  for await (const key of bucket.keys(requestsPrefix(tenant))) {
    if (!key.endsWith(".json")) continue;
    const parsed = v.safeParse(RetrainRequestSchema, parseJson(await bucket.text(key)));
    if (parsed.success && parsed.output.tenant === tenant) book.requests.push(parsed.output);
    else book.skipped++;
  }
  for await (const key of bucket.keys(runsPrefix(tenant))) {
    if (!key.endsWith(".json")) continue;
    const run = parseJson(await bucket.text(key)) as { request?: unknown } | null;
    if (typeof run?.request === "string") book.answered.add(run.request);
  }
  return book;
}

/** The oldest unanswered request (by window, then request time, then id), or null: nothing to do. */
export function oldestUnanswered(book: Pick<RequestBook, "requests" | "answered">): RetrainRequest | null {
  const open = book.requests.filter((r) => !book.answered.has(r.id));
  open.sort((a, b) => a.window.from - b.window.from || a.requested_at - b.requested_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return open[0] ?? null;
}

/** What a scheduled run does: nothing, wait for a running experiment or rollout to end, or answer a request. */
export type PendingDecision =
  | { action: "nothing_to_do"; parked: number; answered: number }
  | { action: "waiting"; request: RetrainRequest; experiment: string }
  | { action: "answer"; request: RetrainRequest };

/**
 * Decides a `--pending` run. A request waits while an experiment runs (a rollout step is one):
 * the retrain would refuse to start, and a refusal would answer the request for nothing.
 */
export function decidePending(book: RequestBook, runningExperiment: string | null): PendingDecision {
  const request = oldestUnanswered(book);
  if (!request) return { action: "nothing_to_do", parked: book.requests.length, answered: book.answered.size };
  return runningExperiment ? { action: "waiting", request, experiment: runningExperiment } : { action: "answer", request };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
