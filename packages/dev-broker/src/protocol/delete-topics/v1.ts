// Owns the DeleteTopics v1 codec.
/*
 * DeleteTopics Request (Version: 1) => [topics] timeout
 *   topics => STRING
 *   timeout => INT32
 * DeleteTopics Response (Version: 1) => throttle_time_ms [topic_error_codes]
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
): void {
  w.int32(0);
  w.array(topics, (w, t) => w.string(t.name).int16(t.errorCode));
}
