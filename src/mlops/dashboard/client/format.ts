// How numbers, times and ids are written on the page; "–" stands for no value.

type Maybe = number | null | undefined;

const missing = (x: Maybe): x is null | undefined => x === null || x === undefined || !Number.isFinite(x);

/** A share as a percentage. */
export function pct(x: Maybe, digits = 1): string {
  return missing(x) ? "–" : `${(x * 100).toFixed(digits)}%`;
}

/** A count with thousands separators. */
export function num(x: Maybe): string {
  return x === null || x === undefined ? "–" : Number(x).toLocaleString("en-US");
}

export function fixed(x: Maybe, digits: number): string {
  return missing(x) ? "–" : Number(x).toFixed(digits);
}

export function hourLabel(ms: number): string {
  return `${String(new Date(ms).getUTCHours()).padStart(2, "0")}:00`;
}

export function dayLabel(ms: number): string {
  return new Date(ms).toISOString().slice(5, 10);
}

/** A moment to the minute, in UTC. */
export function when(ms: number): string {
  return `${new Date(ms).toISOString().replace("T", " ").slice(0, 16)} UTC`;
}

/** A name made safe for a data-testid. */
export function tid(s: string): string {
  return String(s).replace(/[^A-Za-z0-9_-]+/g, "_");
}
