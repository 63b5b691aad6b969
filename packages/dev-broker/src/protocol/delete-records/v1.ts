// Owns the DeleteRecords v0-v1 codec (v1 only changed throttling semantics).
/*
 * DeleteRecords Request (Version: 0-1) => [topics] timeout_ms
 *   topics => name STRING [partitions]
 *     partitions => partition_index INT32 offset INT64   (offset -1: the high watermark)
 *   timeout_ms => INT32
 * DeleteRecords Response (Version: 0-1) => throttle_time_ms [topics]
 *   topics => name STRING [partitions]
 *     partitions => partition_index INT32 low_watermark INT64 error_code INT16
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface DeleteRecordsRequest {
  topics: Array<{ name: string; partitions: Array<{ partition: number; offset: number }> }>;
  timeoutMs: number;
}

export interface DeleteRecordsResponse {
  topics: Array<{
    name: string;
    partitions: Array<{ partition: number; lowWatermark: number; errorCode: number }>;
  }>;
}

export function decodeDeleteRecordsRequest(r: Reader): DeleteRecordsRequest {
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => ({ partition: r.int32(), offset: r.int64() })),
  }));
  return { topics, timeoutMs: r.int32() };
}

export function encodeDeleteRecordsResponse(w: Writer, res: DeleteRecordsResponse): void {
  w.int32(0);
  w.array(res.topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) => w.int32(p.partition).int64(p.lowWatermark).int16(p.errorCode));
  });
}
