import type { Context } from "hono";
import { ApiError } from "./errors";

/** Requires a JSON content type (`application/json`, any charset), else 415. */
export function requireJson(c: Context): void {
  const type = c.req.header("content-type") ?? "";
  const mime = type.split(";")[0]!.trim().toLowerCase();
  if (mime !== "application/json") {
    throw new ApiError(415, "unsupported_media_type", "Send the body as application/json");
  }
}

/**
 * Reads and parses a JSON body of at most `maxBytes`. Refuses early on a large
 * Content-Length, and counts streamed bytes for chunked bodies, so an oversized
 * body is never buffered whole.
 */
export async function readJsonBody(c: Context, maxBytes: number): Promise<unknown> {
  const tooLarge = () => new ApiError(413, "payload_too_large", `Request body exceeds ${maxBytes} bytes`);
  const declared = c.req.header("content-length");
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge();
  const body = c.req.raw.body;
  if (!body) throw new ApiError(400, "malformed_json", "Request body is empty");
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ApiError(400, "malformed_json", "Request body is not valid UTF-8");
  }
  if (text.trim() === "") throw new ApiError(400, "malformed_json", "Request body is empty");
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "malformed_json", "Request body is not valid JSON");
  }
}
