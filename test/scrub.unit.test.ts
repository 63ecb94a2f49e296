import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { looksLikeEmail, scrubFreeText } from "../src/privacy/scrub";

// The pattern the scanner replaced: correct, but quadratic on long runs of local-part characters.
// Kept here as the reference on short inputs, where its cost does not matter.
const REFERENCE = /[\p{L}\p{N}._%+'-]+(?:@|%40)[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.[\p{L}]{2,}/giu;

describe("the linear email scanner", () => {
  it("finds and replaces exactly what the reference pattern does (after NFKC)", () => {
    const unit = fc.constantFrom(..."ab1.-@%40+_ é＠x".split(""), "%40", ".com", "@b.co", "ａ", "％40", "﹫");
    fc.assert(
      fc.property(
        fc.array(unit, { maxLength: 30 }).map((a) => a.join("")),
        (s) => {
          const n = s.normalize("NFKC");
          REFERENCE.lastIndex = 0;
          expect(looksLikeEmail(s)).toBe(REFERENCE.test(n));
          // Numbers and IPs are scrubbed after emails; compare where neither applies.
          if (!/\d/.test(n)) expect(scrubFreeText(s)).toBe(n.replace(REFERENCE, "[email]"));
        },
      ),
      { numRuns: 5000, seed: 20261204 },
    );
  });

  it("its fast path knows every character whose NFKC form holds an @ or a %", () => {
    const found: number[] = [];
    for (let c = 0; c < 0x110000; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const s = String.fromCodePoint(c);
      const n = s.normalize("NFKC");
      if (n !== s && (n.includes("@") || n.includes("%"))) found.push(c);
    }
    // looksLikeEmail skips texts with none of "@", "%", U+FE6A, U+FE6B, U+FF05, U+FF20.
    expect(found).toEqual([0xfe6a, 0xfe6b, 0xff05, 0xff20]);
    for (const c of found) expect(looksLikeEmail(`ada${String.fromCodePoint(c)}${c === 0xfe6a || c === 0xff05 ? "40" : ""}example.com`)).toBe(true);
  });

  it("scrubs full-width addresses, percent-encoded ones and several in one text", () => {
    expect(scrubFreeText("mail ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ now")).toBe("mail [email] now");
    expect(scrubFreeText("/account?to=ada%40example.com&x=1")).toBe("/account?to=[email]&x=1");
    expect(scrubFreeText("a@b.co, c@d.org")).toBe("[email], [email]");
  });
});
