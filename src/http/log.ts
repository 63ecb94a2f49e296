import type { Context } from "hono";

/** Log levels in increasing severity; `silent` turns logging off (benchmarks). */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** A structured logger: one JSON object per line, never request bodies or client PII. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Parses a LOG_LEVEL value; unknown values fall back to `info`. */
export function parseLogLevel(value: string | undefined): LogLevel {
  return value !== undefined && value in RANK ? (value as LogLevel) : "info";
}

/** Creates a logger that stamps every line with the given base fields. */
export function createLogger(level: LogLevel, base: Record<string, unknown> = {}): Logger {
  const emit = (lvl: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < RANK[level]) return;
    const line = JSON.stringify({ level: lvl, msg, ...base, ...fields });
    if (lvl === "error") console.error(line);
    else if (lvl === "warn") console.warn(line);
    else console.log(line);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/** The request's logger, or a fallback when middleware has not run yet. */
export function logger(c: Context): Logger {
  return (c.get("log") as Logger | undefined) ?? createLogger("info");
}
