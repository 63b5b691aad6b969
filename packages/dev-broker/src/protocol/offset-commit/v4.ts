// Owns the OffsetCommit v4 codec.
/*
 * OffsetCommit Request (Version: 2-4) => group_id generation_id member_id retention_time [topics]
 *   group_id => STRING  generation_id => INT32 (-1: commit outside a generation, e.g. admin.setOffsets)
 *   member_id => STRING  retention_time => INT64 (-1: broker default; ignored, offsets are kept)
 *   topics => topic STRING [partitions]
 *     partitions => partition INT32 offset INT64 metadata NULLABLE_STRING
 * OffsetCommit Response (Version: 2-4) => throttle_time_ms [responses]   (v2: no throttle_time_ms)
 *   responses => topic STRING [partition_responses]
 *     partition_responses => partition INT32 error_code INT16
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface OffsetCommitRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  topics: Array<{
    name: string;
    partitions: Array<{ partition: number; offset: number; metadata: string | null }>;
  }>;
}

export interface PartitionErrors {
  topics: Array<{ name: string; partitions: Array<{ partition: number; errorCode: number }> }>;
}

export function decodeOffsetCommitRequest(r: Reader): OffsetCommitRequest {
  const groupId = r.string();
  const generationId = r.int32();
  const memberId = r.string();
  r.int64(); // retention_time
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => ({ partition: r.int32(), offset: r.int64(), metadata: r.nullableString() })),
  }));
  return { groupId, generationId, memberId, topics };
}

export function encodeOffsetCommitResponse(w: Writer, res: PartitionErrors, version = 4): void {
  if (version >= 3) w.int32(0);
  w.array(res.topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) => w.int32(p.partition).int16(p.errorCode));
  });
}
