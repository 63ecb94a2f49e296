import * as v from "valibot";

/**
 * Segment's HTTP Tracking API wire format, as far as we read it. Envelopes are loose:
 * Segment clients send many fields we do not use (`context.library`, `integrations`,
 * `_metadata`, …); only the fields the mapping (`map.ts`) picks reach our event schemas,
 * which stay strict.
 */
const id = (what: string) => v.pipe(v.union([v.string(), v.pipe(v.number(), v.transform(String))]), v.string(), v.minLength(1), v.maxLength(256, `${what} is at most 256 characters`));
const iso = v.pipe(v.string(), v.maxLength(40), v.isoTimestamp("must be an ISO 8601 timestamp"));
const record = v.record(v.string(), v.unknown());

/** Fields every Segment call has. */
export const SegmentCommon = {
  messageId: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64, "messageId is at most 64 characters (it is our event id)"))),
  // analytics.js sends `"userId": null` before identify.
  anonymousId: v.nullish(id("anonymousId")),
  userId: v.nullish(id("userId")),
  timestamp: v.optional(iso),
  originalTimestamp: v.optional(iso),
  sentAt: v.optional(iso),
  context: v.optional(record),
  integrations: v.optional(v.unknown()),
};

export const SegmentTrack = v.looseObject({ ...SegmentCommon, type: v.literal("track"), event: v.pipe(v.string(), v.minLength(1), v.maxLength(200)), properties: v.optional(record) });
export const SegmentPage = v.looseObject({ ...SegmentCommon, type: v.literal("page"), name: v.optional(v.string()), category: v.optional(v.string()), properties: v.optional(record) });
export const SegmentIdentify = v.looseObject({ ...SegmentCommon, type: v.literal("identify"), traits: v.optional(record) });
/** Calls we understand but do not map (see the compatibility table). */
export const SegmentOther = v.looseObject({ ...SegmentCommon, type: v.picklist(["screen", "group", "alias"]) });

/** One Segment message, by `type`. */
export const SegmentMessageSchema = v.variant("type", [SegmentTrack, SegmentPage, SegmentIdentify, SegmentOther]);
export type SegmentMessage = v.InferOutput<typeof SegmentMessageSchema>;

/** `POST /v1/batch` (and analytics.js's `/v1/b`). */
export const SegmentBatchSchema = v.looseObject({
  batch: v.array(v.unknown()),
  sentAt: v.optional(iso),
  writeKey: v.optional(v.string()),
  context: v.optional(record),
});
