import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { RespClient, RespError, type RespValue } from "./resp";

/** Fault injection for tests: `down` answers 503 to every command, `slow` delays each request. */
export interface Faults {
  mode: "none" | "down" | "slow";
  delayMs: number;
}

/** Options of the local Upstash-compatible server. */
export interface UpstashServerOptions {
  port: number;
  host?: string;
  token: string;
  redisUrl?: string;
}

const MAX_BODY = 10 * 1024 * 1024; // Upstash's request limit

/**
 * A small HTTP server speaking the Upstash REST protocol (`POST /`, `/pipeline`,
 * `/multi-exec`, Bearer auth, `Upstash-Encoding: base64`) in front of a real
 * redis-server, so the Upstash profile store is tested against real Redis.
 * `POST /__faults` (same token) injects outages and latency; `GET /__health`
 * says whether Redis answers.
 */
export async function startUpstashServer(opts: UpstashServerOptions): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const redisUrl = new URL(opts.redisUrl ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  const redis = new RespClient(redisUrl.hostname, Number(redisUrl.port || 6379));
  const faults: Faults = { mode: "none", delayMs: 0 };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => json(res, 500, { error: `ERR ${err instanceof Error ? err.message : String(err)}` }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (req.method === "GET" && path === "/__health") {
      try {
        const [pong] = await redis.send([["PING"]]);
        return json(res, 200, { redis: "up", reply: String(pong) });
      } catch (err) {
        return json(res, 503, { redis: "down", error: err instanceof Error ? err.message : String(err) });
      }
    }
    if (req.headers.authorization !== `Bearer ${opts.token}`) return json(res, 401, { error: "Unauthorized" });
    const body = await readBody(req);
    if (body === null) return json(res, 413, { error: "ERR max request size exceeded" });
    if (path === "/__faults") {
      const f = JSON.parse(body || "{}") as Partial<Faults>;
      faults.mode = f.mode ?? "none";
      faults.delayMs = f.delayMs ?? 0;
      return json(res, 200, { result: faults });
    }
    if (faults.mode === "down") return json(res, 503, { error: "ERR injected outage" });
    if (faults.mode === "slow") await new Promise((r) => setTimeout(r, faults.delayMs));
    if (req.method !== "POST") return json(res, 405, { error: "ERR use POST" });
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return json(res, 400, { error: "ERR failed to parse command" });
    }
    if (path === "/" || path === "") {
      if (!isCommand(parsed)) return json(res, 400, { error: "ERR a command is a JSON array of strings, numbers and booleans" });
      const [reply] = await redis.send([toRedis(parsed)]);
      if (reply instanceof RespError) return json(res, 400, { error: reply.message });
      return json(res, 200, { result: encode(reply!, base64) });
    }
    if (path === "/pipeline" || path === "/multi-exec") {
      if (!Array.isArray(parsed) || !parsed.every(isCommand)) return json(res, 400, { error: "ERR a pipeline is a JSON array of commands" });
      const commands = (parsed as Arg[][]).map(toRedis);
      if (path === "/pipeline") {
        const replies = await redis.send(commands);
        return json(
          res,
          200,
          replies.map((r) => (r instanceof RespError ? { error: r.message } : { result: encode(r, base64) })),
        );
      }
      // MULTI … EXEC written in one go on the shared connection: nothing interleaves.
      const replies = await redis.send([["MULTI"], ...commands, ["EXEC"]]);
      const queued = replies.slice(1, -1);
      const exec = replies.at(-1)!;
      const failed = queued.find((r) => r instanceof RespError) as RespError | undefined;
      if (exec instanceof RespError || exec === null) return json(res, 400, { error: (failed ?? (exec as RespError | null))?.message ?? "ERR transaction discarded" });
      return json(
        res,
        200,
        (exec as RespValue[]).map((r) => (r instanceof RespError ? { error: r.message } : { result: encode(r, base64) })),
      );
    }
    return json(res, 404, { error: "ERR unknown endpoint" });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  return {
    server,
    url: `http://${opts.host ?? "127.0.0.1"}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        redis.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

type Arg = string | number | boolean;

function isCommand(x: unknown): x is Arg[] {
  return Array.isArray(x) && x.length > 0 && x.every((a) => typeof a === "string" || typeof a === "number" || typeof a === "boolean");
}

/** Redis has no booleans: like Upstash, send JSON `true` / `false` as the strings "true" / "false". */
function toRedis(command: Arg[]): Array<string | number> {
  return command.map((a) => (typeof a === "boolean" ? String(a) : a));
}

/** Upstash's encoding: with base64 every string is base64 except the status "OK"; numbers, nil and nesting stay. */
function encode(value: RespValue, base64: boolean): unknown {
  if (value === null || typeof value === "number") return value;
  if (Array.isArray(value)) return value.map((v) => encode(v, base64));
  if (value instanceof RespError) return value.message;
  if (typeof value === "string") return value === "OK" || !base64 ? value : Buffer.from(value, "utf8").toString("base64");
  return base64 ? value.toString("base64") : value.toString("utf8");
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(null);
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
