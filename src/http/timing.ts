import type { Context } from "hono";
import type { AppEnv } from "./types";

/** Runs `fn` and records its duration for the Server-Timing header. */
export async function timed<T>(c: Context<AppEnv>, name: string, fn: () => Promise<T> | T): Promise<T> {
  const start = performance.now();
  try {
    return await fn();
  } finally {
    c.get("timings").push([name, performance.now() - start]);
  }
}

/** Formats recorded timings as a Server-Timing header value. */
export function serverTiming(timings: Array<[string, number]>): string {
  return timings.map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`).join(", ");
}
