/**
 * Edgewise browser SDK: `init()` once, then `track()`, `consent()`, `recommendations()`.
 * Events get ids here (retries stay idempotent), go out in batches by size and time,
 * with `fetch` `keepalive` (or `sendBeacon`) when the page is hidden, are retried with
 * exponential backoff and jitter (honouring `Retry-After` on 429/503, never on other 4xx),
 * and wait in a bounded `localStorage` queue while offline.
 */

/** Options of {@link init}. */
export interface Options {
  /** The tenant's publishable key (`pk_…`). */
  key: string;
  /** Base URL of the Edgewise API, e.g. `https://edge.example.com` (default: this page's origin). */
  endpoint?: string;
  /** Send when this many events are queued (default 10; `1` turns batching off). */
  batchSize?: number;
  /** …or this many milliseconds after the first queued event (default 1000). */
  flushInterval?: number;
  /** At most this many unsent events are kept in `localStorage`; the oldest go first (default 100). */
  maxQueue?: number;
  /** Attempts per batch before it is left in the queue for the next page (default 6). */
  maxAttempts?: number;
  /**
   * `required`: nothing is sent (events are dropped) until `consent()` grants a purpose;
   * `implied` (default): events flow until consent is withdrawn. Global Privacy Control
   * (`navigator.globalPrivacyControl`) always withholds the analytics purpose.
   */
  consent?: "required" | "implied";
  /** A customer token the shop's backend minted (scopes `identify`, `events:write`): lets the browser send `identify` and `purchase`. */
  token?: string | (() => string | null | undefined);
  /** `header` (default): keep the visitor token in `localStorage` and send it as a header, for API hosts that are not first-party; `cookie`: rely on the `ew_vid` cookie. */
  visitor?: "header" | "cookie";
}

/** Event types of `POST /v1/events`. */
export type EventType = "page_view" | "product_view" | "search" | "add_to_cart" | "remove_from_cart" | "purchase" | "recommendation_click" | "identify" | "consent";

/** The consent purposes. */
export interface Consent {
  analytics: boolean;
  personalization: boolean;
}

/** A recommended item, with what attribution needs. */
export interface RecommendedItem {
  item_id: string;
  score?: number;
  impression_id: string;
  position: number;
  [field: string]: unknown;
}

/** A list from `GET /v1/recommendations`. */
export interface Recommendations {
  impression_id: string;
  variant: string;
  items: RecommendedItem[];
  degraded?: unknown;
}

/** What {@link init} returns. */
export interface Edgewise {
  /** Queues an event and returns its id. Dropped (returns `null`) without consent. */
  track(type: EventType, properties?: Record<string, unknown>): string | null;
  /** Sends everything queued now. */
  flush(): Promise<void>;
  /** Declares consent (sent as a `consent` event); without an argument, returns the consent in force. */
  consent(value?: Consent): Consent | null;
  /** A list for this visitor; every item carries its impression id and 1-based position. */
  recommendations(request?: { type?: "personalized" | "similar" | "cart" | "trending"; k?: number; item?: string; exclude?: string[] }): Promise<Recommendations>;
  /** Attributes a click on a shown item (a `recommendation_click` event). */
  click(item: Pick<RecommendedItem, "item_id" | "impression_id" | "position">): string | null;
  /** The visitor token, once the API has issued one. */
  visitor(): string | null;
}

interface Queued {
  id: string;
  type: EventType;
  timestamp: number;
  properties?: Record<string, unknown>;
}

const VISITOR = "x-edgewise-visitor";

/** Starts the SDK. Clicks on elements with `data-ew-impression`, `data-ew-item` (and `data-ew-position`) are attributed automatically. */
export function init(options: Options): Edgewise {
  const { key, batchSize = 10, flushInterval = 1000, maxQueue = 100, maxAttempts = 6 } = options;
  const endpoint = (options.endpoint ?? location.origin).replace(/\/+$/, "");
  const useHeader = options.visitor !== "cookie";
  const store = safeStorage();
  const qKey = `ew_q:${key}`;
  const cKey = `ew_c:${key}`;
  const vKey = `ew_v:${key}`;
  const gpc = (navigator as { globalPrivacyControl?: boolean }).globalPrivacyControl === true;
  let queue: Queued[] = read<Queued[]>(qKey) ?? [];
  let consent: Consent | null = read<Consent>(cKey);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sending: Promise<void> | null = null;
  let seq = 0;

  function read<T>(k: string): T | null {
    try {
      return JSON.parse(store?.getItem(k) ?? "null") as T | null;
    } catch {
      return null;
    }
  }
  function write(k: string, value: unknown): void {
    try {
      store?.setItem(k, JSON.stringify(value));
    } catch {
      /* full or blocked storage: the in-memory queue still works */
    }
  }
  const save = () => write(qKey, queue);
  const allowed = () => (consent ? consent.analytics || consent.personalization : options.consent !== "required");

  function headers(json: boolean): Record<string, string> {
    const h: Record<string, string> = { "x-edgewise-key": key };
    if (json) h["content-type"] = "application/json";
    const token = useHeader ? store?.getItem(vKey) : null;
    if (token) h[VISITOR] = token;
    const jwt = typeof options.token === "function" ? options.token() : options.token;
    if (jwt) h.authorization = `Bearer ${jwt}`;
    return h;
  }

  async function request(path: string, init: RequestInit & { headers: Record<string, string> }): Promise<Response> {
    const res = await fetch(endpoint + path, { ...init, credentials: useHeader ? "omit" : "include" });
    const token = res.headers.get(VISITOR);
    if (useHeader && token) store?.setItem(vKey, token);
    // A stale or foreign token: forget it, the next call gets a new one.
    if (res.status === 401 && useHeader) store?.removeItem(vKey);
    return res;
  }

  function schedule(): void {
    if (queue.length >= batchSize) void flush(false);
    else if (timer === undefined && queue.length > 0) timer = setTimeout(() => void flush(), flushInterval);
  }

  /** Sends full batches (`all`: everything queued, as the timer and an explicit flush do). */
  function flush(all = true): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    if (sending) return all ? sending.then(() => flush()) : sending;
    return (sending = drain(all).then((done) => {
      sending = null;
      // After maxAttempts the queue waits for the next event, `online`, or page load.
      if (done) schedule();
    }));
  }

  async function drain(all: boolean): Promise<boolean> {
    let attempt = 0;
    while (queue.length > 0 && (all || queue.length >= batchSize)) {
      if (attempt >= maxAttempts) return false;
      const batch = queue.slice(0, 100);
      let wait: number | null;
      try {
        const res = await request("/v1/events", { method: "POST", headers: headers(true), body: JSON.stringify({ events: batch, sent_at: Date.now() }) });
        if (res.ok || (res.status >= 400 && res.status < 500 && res.status !== 429)) {
          // Accepted, or refused for good (a 4xx other than 429 never succeeds on retry): done with these.
          const sent = new Set(batch.map((e) => e.id));
          queue = queue.filter((e) => !sent.has(e.id));
          save();
          attempt = 0;
          continue;
        }
        const after = Number(res.headers.get("retry-after"));
        wait = (res.status === 429 || res.status === 503) && after >= 0 && res.headers.has("retry-after") ? after * 1000 : null;
      } catch {
        wait = null; // offline or a network error
      }
      attempt++;
      // Exponential backoff with full jitter, unless the server said when.
      await sleep(wait ?? Math.random() * Math.min(30_000, 500 * 2 ** attempt));
    }
    return true;
  }

  /** Page hidden: hand what is queued to the browser, which sends it even if the page goes away. */
  function beacon(): void {
    if (queue.length === 0) return;
    const body = JSON.stringify({ events: queue.slice(0, 100), sent_at: Date.now() });
    try {
      // keepalive bodies are capped at 64 KB per page; sendBeacon is the fallback (same-origin cookie only).
      void fetch(endpoint + "/v1/events", { method: "POST", keepalive: true, headers: headers(true), body, credentials: useHeader ? "omit" : "include" }).catch(() => undefined);
    } catch {
      navigator.sendBeacon?.(`${endpoint}/v1/events?key=${encodeURIComponent(key)}`, new Blob([body], { type: "application/json" }));
    }
  }

  function track(type: EventType, properties?: Record<string, unknown>): string | null {
    if (!allowed() && type !== "consent") return null;
    const id = `${Date.now().toString(36)}-${(seq++).toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    queue.push({ id, type, timestamp: Date.now(), ...(properties ? { properties } : {}) });
    if (queue.length > maxQueue) queue.splice(0, queue.length - maxQueue);
    save();
    schedule();
    return id;
  }

  function setConsent(value?: Consent): Consent | null {
    if (!value) return consent;
    consent = { analytics: value.analytics && !gpc, personalization: value.personalization };
    write(cKey, consent);
    if (!allowed()) queue = queue.filter((e) => e.type === "consent");
    track("consent", { ...consent });
    return consent;
  }

  async function recommendations(req: { type?: string; k?: number; item?: string; exclude?: string[] } = {}): Promise<Recommendations> {
    await flush(); // the list should see the clicks and views just tracked
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(req)) if (v !== undefined) q.set(k, Array.isArray(v) ? v.join(",") : String(v));
    const res = await request(`/v1/recommendations?${q}`, { headers: headers(false) });
    const body = (await res.json()) as Recommendations & { error?: { code: string; message: string } };
    if (!res.ok) throw new Error(`${body.error?.code ?? res.status}: ${body.error?.message ?? ""}`);
    body.items = body.items.map((item, i) => ({ ...item, impression_id: body.impression_id, position: i + 1 }));
    return body;
  }

  const click = (item: Pick<RecommendedItem, "item_id" | "impression_id" | "position">) =>
    track("recommendation_click", { impression_id: item.impression_id, item_id: item.item_id, position: item.position });

  if (gpc && consent?.analytics !== false && options.consent !== "required") setConsent({ analytics: false, personalization: consent?.personalization ?? true });
  addEventListener("visibilitychange", () => document.visibilityState === "hidden" && beacon());
  addEventListener("pagehide", beacon);
  addEventListener("online", () => void flush());
  document.addEventListener(
    "click",
    (e) => {
      const el = (e.target as Element | null)?.closest?.("[data-ew-impression]");
      const d = (el as HTMLElement | null)?.dataset;
      if (d?.ewImpression && d.ewItem) click({ impression_id: d.ewImpression, item_id: d.ewItem, position: Number(d.ewPosition ?? 0) });
    },
    true,
  );
  schedule();

  return { track, flush: () => flush(), consent: setConsent, recommendations, click, visitor: () => store?.getItem(vKey) ?? null };
}

function safeStorage(): Storage | null {
  try {
    return localStorage;
  } catch {
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
