const EMAIL_LIKE = /[^\s@]+@[^\s@]+\.[^\s@]+/g;
// Phone numbers, card numbers, order numbers: any run of 6+ digits, spaces or dashes allowed inside.
const NUMBER_LIKE = /\d(?:[\s-]?\d){5,}/g;

/** Scrubs free text (search queries) of email-like and long number-like tokens. */
export function scrubFreeText(text: string): string {
  return text.replace(EMAIL_LIKE, "[email]").replace(NUMBER_LIKE, "[number]");
}
