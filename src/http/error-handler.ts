import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError, errorBody } from "./errors";
import { logger } from "./log";
import type { AppEnv } from "./types";

/** The single mapper from thrown errors to the JSON error envelope. */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof ApiError) {
    for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
    return c.json(errorBody(err.code, err.message), err.status);
  }
  if (err instanceof HTTPException && err.status < 500) {
    // Hono's own middleware (e.g. a malformed header) answers client faults this way.
    return c.json(errorBody("bad_request", err.message || "Bad request"), err.status);
  }
  logger(c).error("unhandled_error", { error: describe(err) });
  return c.json(errorBody("internal_error", "Internal error; the request id identifies it in the logs."), 500);
};

/** Unknown routes answer 404 in the same envelope. */
export const onNotFound: NotFoundHandler<AppEnv> = (c: Context<AppEnv>) => c.json(errorBody("not_found", `No route for ${c.req.method} ${truncate(new URL(c.req.url).pathname, 200)}`), 404);

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
