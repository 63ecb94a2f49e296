// Phone numbers, card numbers, order numbers: any run of 6+ digits, spaces or dashes allowed inside.
// Linear: a failing attempt ends within six digits of where it started.
const NUMBER_LIKE = /\d(?:[\s-]?\d){5,}/g;
// IP addresses identify a household: IPv4 dotted quads and IPv6 (at least two colons between hex groups).
// Both are bounded repetitions, so each start position costs a constant.
const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;
const IPV6 = /(?<![\w:])(?:[0-9a-f]{1,4}:){1,7}(?::|(?::[0-9a-f]{1,4}){1,6}|[0-9a-f]{1,4})(?![\w:])/gi;

const LOCAL_CHAR = /[\p{L}\p{N}._%+'-]/u;
const DOMAIN_CHAR = /[\p{L}\p{N}-]/u;
const LETTER = /\p{L}/u;

/** Where one email-shaped span starts and ends (end exclusive). */
interface Span {
  start: number;
  end: number;
}

/**
 * Finds email-shaped spans — `local@domain.tld`, also with a percent-encoded "@"
 * (`%40`, as in URLs) — in one left-to-right pass. This replaces a regular
 * expression whose backtracking was quadratic on long runs of local-part
 * characters (a 32 K item id took 1.25 s): every character is visited a bounded
 * number of times, whatever the input.
 */
function emailSpans(text: string, firstOnly: boolean): Span[] {
  const spans: Span[] = [];
  let runStart = 0; // start of the current run of local-part characters
  let floor = 0; // a span may not start before the end of the previous one
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const at = ch === "@" ? 1 : ch === "%" && text[i + 1] === "4" && text[i + 2] === "0" ? 3 : 0;
    if (at > 0) {
      const start = Math.max(runStart, floor);
      const end = start < i ? domainEnd(text, i + at) : -1;
      if (end > 0) {
        spans.push({ start, end });
        if (firstOnly) return spans;
        floor = end;
        i = end - 1;
        runStart = end;
        continue;
      }
    }
    if (!LOCAL_CHAR.test(ch)) runStart = i + 1;
  }
  return spans;
}

/**
 * The end of the longest `label(.label)*.tld` starting at `from` (the tld being at
 * least two letters, possibly the letter prefix of a label), or -1. One pass over
 * the domain characters.
 */
function domainEnd(text: string, from: number): number {
  let best = -1;
  let labels = 0;
  let i = from;
  while (i < text.length) {
    const labelStart = i;
    let letters = 0;
    let lettersOnly = true;
    while (i < text.length && DOMAIN_CHAR.test(text[i]!)) {
      if (lettersOnly && LETTER.test(text[i]!)) letters++;
      else lettersOnly = false;
      i++;
    }
    if (i === labelStart) break; // empty label: the domain ended
    labels++;
    if (labels >= 2 && letters >= 2) best = labelStart + letters;
    if (text[i] !== ".") break;
    i++;
  }
  return best;
}

/**
 * NFKC folds look-alikes onto the characters the scanners match ("＠" → "@",
 * full-width digits → digits), so a full-width address is still an address.
 * Callers bound the length first: NFKC can expand a string (at most ~18×).
 */
export function normaliseText(text: string): string {
  return text.normalize("NFKC");
}

// Every character whose NFKC form holds "@" or "%" (the only ways an address can start its domain part).
const AT_OR_PERCENT = /[@%\uFE6A\uFE6B\uFF05\uFF20]/;

/** True when a value contains something shaped like an email address (after NFKC). */
export function looksLikeEmail(text: string): boolean {
  // Fast path for the common case (item ids, categories): no "@" or "%" in any form, no address.
  if (!AT_OR_PERCENT.test(text)) return false;
  return emailSpans(normaliseText(text), true).length > 0;
}

function replaceEmails(text: string): string {
  const spans = emailSpans(text, false);
  if (spans.length === 0) return text;
  let out = "";
  let at = 0;
  for (const s of spans) {
    out += `${text.slice(at, s.start)}[email]`;
    at = s.end;
  }
  return out + text.slice(at);
}

/**
 * Scrubs free text (search queries, page paths, referrers) of emails, IP addresses
 * and long numbers, after NFKC. Linear in the length of the text; callers bound
 * the length before calling (the schemas' limits run first).
 */
export function scrubFreeText(text: string): string {
  return replaceEmails(normaliseText(text))
    .replace(IPV4, "[ip]")
    .replace(IPV6, (m) => (m.split(":").length >= 3 ? "[ip]" : m))
    .replace(NUMBER_LIKE, "[number]");
}
