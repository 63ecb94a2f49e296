import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every stable error code the API can answer with. Clients branch on these, never on messages. */
export const ERROR_CODES = [
  "bad_request",
  "malformed_json",
  "invalid_body",
  "empty_batch",
  "missing_key",
  "unknown_key",
  "invalid_visitor",
  "missing_token",
  "invalid_token",
  "insufficient_scope",
  "forbidden",
  "forbidden_origin",
  "invalid_parameter",
  "unknown_variant",
  "unknown_model",
  "conflict",
  "not_found",
  "method_not_allowed",
  "payload_too_large",
  "too_many_events",
  "unsupported_media_type",
  "rate_limited",
  "enqueue_failed",
  "identity_unavailable",
  "erasure_incomplete",
  "profile_unavailable",
  "session_unavailable",
  "misconfigured",
  "internal_error",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The one error type of the HTTP layer: a status, a stable code and a human message. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The JSON body every error response carries. */
export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string };
}

/** Builds the error envelope for a code and message. */
export function errorBody(code: ErrorCode, message: string): ErrorEnvelope {
  return { error: { code, message } };
}
