// Owns the OffsetDelete v0 codec (kafka-consumer-groups.sh --delete-offsets, librdkafka DeleteConsumerGroupOffsets).
/*
 * OffsetDelete Request (Version: 0) => group_id [topics]
 *   group_id => STRING
 *   topics => name STRING [partitions]
 *     partitions => partition_index INT32
 * OffsetDelete Response (Version: 0) => error_code throttle_time_ms [topics]
 *   error_code => INT16  throttle_time_ms => INT32
 *   topics => name STRING [partitions]
 *     partitions => partition_index INT32 error_code INT16
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface OffsetDeleteRequest {
  groupId: string;
  topics: Array<{ name: string; partitions: number[] }>;
}

export interface OffsetDeleteResponse {
  errorCode: number;
  topics: Array<{ name: string; partitions: Array<{ partition: number; errorCode: number }> }>;
}

export function decodeOffsetDeleteRequest(r: Reader): OffsetDeleteRequest {
  const groupId = r.string();
  const topics = r.array((r) => ({ name: r.string(), partitions: r.array((r) => r.int32()) }));
  return { groupId, topics };
}

export function encodeOffsetDeleteResponse(w: Writer, res: OffsetDeleteResponse): void {
  w.int16(res.errorCode).int32(0);
  w.array(res.topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) => w.int32(p.partition).int16(p.errorCode));
  });
}
