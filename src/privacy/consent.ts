import type { ConsentValue } from "../contracts/values";

/** What a tenant assumes before a visitor has said anything. */
export type ConsentMode = "opt-in" | "opt-out";

/** The purposes we act on. */
export interface Purposes {
  /** Events may be kept in the central log (queue → R2, trending, experiments, training). */
  analytics: boolean;
  /** Events may shape this visitor's features, profile and recommendations. */
  personalization: boolean;
}

/** Per-request signals that narrow consent. */
export interface ConsentContext {
  mode: ConsentMode;
  /** `Sec-GPC: 1`: the browser asks not to sell or share — no central log for this request's events. */
  gpc: boolean;
}

/**
 * The purposes in force: the visitor's latest declaration, else the tenant's mode
 * (`opt-in`: nothing until granted; `opt-out`: granted until withdrawn), then
 * narrowed by Global Privacy Control.
 */
export function effectivePurposes(declared: Pick<ConsentValue, "analytics" | "personalization"> | null | undefined, ctx: ConsentContext): Purposes {
  const base = declared ?? { analytics: ctx.mode === "opt-out", personalization: ctx.mode === "opt-out" };
  return { analytics: base.analytics && !ctx.gpc, personalization: base.personalization };
}

/** Reads `Sec-GPC` (only the exact value "1" counts, per the spec). */
export function gpcHeader(value: string | undefined): boolean {
  return value?.trim() === "1";
}

const PURPOSES_OFFSET = 152; // bit offset of PurposesConsent in a TCF v2 core string
const VERSION_BITS = 6;

/**
 * Maps an IAB TCF v2 TC string to our purposes: purpose 1 (store/access on a
 * device) is needed for anything; 1 alone allows analytics, 1 + 5 (create a
 * personalised content profile) + 6 (use it to select content) allow
 * personalization. `null` when the string is not a valid v2 core string.
 */
export function purposesFromTcf(tc: string): Purposes | null {
  const core = tc.split(".")[0] ?? "";
  if (!/^[A-Za-z0-9_-]+$/.test(core)) return null;
  const bits = base64UrlBits(core);
  if (bits.length < PURPOSES_OFFSET + 24) return null;
  const version = readInt(bits, 0, VERSION_BITS);
  if (version !== 2) return null;
  const purpose = (n: number) => bits[PURPOSES_OFFSET + n - 1] === 1;
  return { analytics: purpose(1), personalization: purpose(1) && purpose(5) && purpose(6) };
}

function base64UrlBits(text: string): number[] {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const bits: number[] = [];
  for (const ch of text) {
    const v = alphabet.indexOf(ch);
    for (let i = 5; i >= 0; i--) bits.push((v >> i) & 1);
  }
  return bits;
}

function readInt(bits: number[], from: number, length: number): number {
  let n = 0;
  for (let i = from; i < from + length; i++) n = n * 2 + bits[i]!;
  return n;
}
