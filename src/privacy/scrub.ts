// Also matches a percent-encoded "@" (%40), as in URLs.
const EMAIL_LIKE = /[\p{L}\p{N}._%+'-]+(?:@|%40)[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.[\p{L}]{2,}/giu;
// Phone numbers, card numbers, order numbers: any run of 6+ digits, spaces or dashes allowed inside.
const NUMBER_LIKE = /\d(?:[\s-]?\d){5,}/g;
// IP addresses identify a household: IPv4 dotted quads and IPv6 (at least two colons between hex groups).
const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;
const IPV6 = /(?<![\w:])(?:[0-9a-f]{1,4}:){1,7}(?::|(?::[0-9a-f]{1,4}){1,6}|[0-9a-f]{1,4})(?![\w:])/gi;

/** True when a value contains something shaped like an email address. */
export function looksLikeEmail(text: string): boolean {
  EMAIL_LIKE.lastIndex = 0;
  return EMAIL_LIKE.test(text);
}

/** Scrubs free text (search queries, page paths, referrers, logged paths) of emails, IP addresses and long numbers. */
export function scrubFreeText(text: string): string {
  return text.replace(EMAIL_LIKE, "[email]").replace(IPV4, "[ip]").replace(IPV6, (m) => (m.split(":").length >= 3 ? "[ip]" : m)).replace(NUMBER_LIKE, "[number]");
}
