// Owns the OffsetFetch v3 codec.
/*
 * OffsetFetch Request (Version: 1-3) => group_id [topics]
 *   group_id => STRING
 *   topics => topic STRING [partitions INT32]   (null array, v2+: every partition the group committed)
 * OffsetFetch Response (Version: 1-3) => throttle_time_ms [responses] error_code
 *   (v1: neither throttle_time_ms nor the top-level error_code; v2: no throttle_time_ms)
 *   responses => topic STRING [partition_responses]
 *     partition_responses => partition INT32 offset INT64 metadata NULLABLE_STRING error_code INT16
 *   error_code => INT16
 * A partition without a committed offset answers offset -1, metadata "" and NONE, as Kafka does.
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface OffsetFetchRequest {
  groupId: string;
  topics: Array<{ name: string; partitions: number[] }> | null;
}

export interface OffsetFetchResponse {
  errorCode: number;
  topics: Array<{
    name: string;
    partitions: Array<{ partition: number; offset: number; metadata: string | null; errorCode: number }>;
  }>;
}

export function decodeOffsetFetchRequest(r: Reader): OffsetFetchRequest {
  const groupId = r.string();
  const topics = r.nullableArray((r) => ({ name: r.string(), partitions: r.array((r) => r.int32()) }));
  return { groupId, topics };
}

export function encodeOffsetFetchResponse(w: Writer, res: OffsetFetchResponse, version = 3): void {
  if (version >= 3) w.int32(0);
  w.array(res.topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) =>
      w.int32(p.partition).int64(p.offset).nullableString(p.metadata).int16(p.errorCode),
    );
  });
  if (version >= 2) w.int16(res.errorCode);
}
