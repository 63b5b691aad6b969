// Owns the DeleteTopics v1 codec.
/*
 * DeleteTopics Request (Version: 0-1) => [topics] timeout
 *   topics => STRING
 *   timeout => INT32
 * DeleteTopics Response (Version: 0-1) => throttle_time_ms [topic_error_codes]   (v0: no throttle)
 *   topic_error_codes => topic STRING error_code INT16
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface DeleteTopicsRequest {
  topics: string[];
  timeoutMs: number;
}

export function decodeDeleteTopicsRequest(r: Reader): DeleteTopicsRequest {
  return { topics: r.array((r) => r.string()), timeoutMs: r.int32() };
}

export function encodeDeleteTopicsResponse(
  w: Writer,
  topics: Array<{ name: string; errorCode: number }>,
  version = 1,
): void {
  if (version >= 1) w.int32(0);
  w.array(topics, (w, t) => w.string(t.name).int16(t.errorCode));
}
