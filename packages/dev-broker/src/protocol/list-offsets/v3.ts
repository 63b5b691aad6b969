// Owns the ListOffsets v1-v3 codec (earliest -2, latest -1, or first offset at/after a timestamp).
/*
 * ListOffsets Request (Version: 1-3) => replica_id isolation_level [topics]   (v1: no isolation_level)
 *   replica_id => INT32
 *   isolation_level => INT8
 *   topics => topic STRING [partitions]
 *     partitions => partition INT32 timestamp INT64
 * ListOffsets Response (Version: 1-3) => throttle_time_ms [responses]   (v1: no throttle_time_ms)
 * v2 and v3 are the same on the wire (v3 only changed the broker's handling of timestamp overflow).
 *   responses => topic STRING [partition_responses]
 *     partition_responses => partition INT32 error_code INT16 timestamp INT64 offset INT64
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface ListOffsetsRequest {
  topics: Array<{ name: string; partitions: Array<{ partition: number; timestamp: number }> }>;
}

export interface ListOffsetsResponse {
  topics: Array<{
    name: string;
    partitions: Array<{ partition: number; errorCode: number; timestamp: number; offset: number }>;
  }>;
}

export function decodeListOffsetsRequest(r: Reader, version = 3): ListOffsetsRequest {
  r.int32(); // replica_id: always -1 from a client
  if (version >= 2) r.int8(); // isolation_level: no transactions here, so committed == uncommitted
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => ({ partition: r.int32(), timestamp: r.int64() })),
  }));
  return { topics };
}

export function encodeListOffsetsResponse(w: Writer, res: ListOffsetsResponse, version = 3): void {
  if (version >= 2) w.int32(0);
  w.array(res.topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) =>
      w.int32(p.partition).int16(p.errorCode).int64(p.timestamp).int64(p.offset),
    );
  });
}
