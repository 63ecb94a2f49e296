const encoder = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

/** Imports (once per isolate) an HMAC-SHA256 key for signing and verifying. */
export function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keyCache.set(secret, key);
  }
  return key;
}

/** HMAC-SHA256 of `data`, base64url without padding. */
export async function hmacBase64Url(secret: string, data: string): Promise<string> {
  const sig = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(data));
  return base64UrlEncode(new Uint8Array(sig));
}

/** Verifies an HMAC-SHA256 signature in constant time (WebCrypto's verify). */
export async function hmacVerify(secret: string, data: string, signatureB64Url: string): Promise<boolean> {
  const sig = base64UrlDecode(signatureB64Url);
  if (sig?.length !== 32) return false;
  return crypto.subtle.verify("HMAC", await hmacKey(secret), sig, encoder.encode(data));
}

/** Hex HMAC-SHA256, used to pseudonymise identifiers. */
export async function hmacHex(secret: string, data: string): Promise<string> {
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(data)));
  return [...sig].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Encodes bytes as base64url without padding. */
export function base64UrlEncode(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes base64url; `null` for anything that is not strict base64url. */
export function base64UrlDecode(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
