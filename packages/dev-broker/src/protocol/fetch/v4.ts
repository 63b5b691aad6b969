// Owns the Fetch v4 codec; stored batches are written to the socket by reference, never re-encoded.
/*
 * Fetch Request (Version: 4) => replica_id max_wait_time min_bytes max_bytes isolation_level [topics]
 *   replica_id => INT32  max_wait_time => INT32  min_bytes => INT32  max_bytes => INT32
 *   isolation_level => INT8
 *   topics => topic STRING [partitions]
 *     partitions => partition INT32 fetch_offset INT64 max_bytes INT32
 * Fetch Response (Version: 4) => throttle_time_ms [responses]
 *   responses => topic STRING [partition_responses]
 *     partition_responses => partition_header record_set
 *       partition_header => partition INT32 error_code INT16 high_watermark INT64
 *                           last_stable_offset INT64 [aborted_transactions]
 *         aborted_transactions => producer_id INT64 first_offset INT64
 *       record_set => RECORDS
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface FetchPartitionRequest {
  partition: number;
  fetchOffset: number;
  maxBytes: number;
}

export interface FetchRequest {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  topics: Array<{ name: string; partitions: FetchPartitionRequest[] }>;
}

export interface FetchPartitionResponse {
  partition: number;
  errorCode: number;
  highWatermark: number;
  batches: Buffer[];
}

export interface FetchResponse {
  topics: Array<{ name: string; partitions: FetchPartitionResponse[] }>;
}

export function decodeFetchRequest(r: Reader): FetchRequest {
  r.int32(); // replica_id: -1 for consumers
  const maxWaitMs = r.int32();
  const minBytes = r.int32();
  const maxBytes = r.int32();
  r.int8(); // isolation_level: without transactions every offset below the high watermark is stable
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => ({ partition: r.int32(), fetchOffset: r.int64(), maxBytes: r.int32() })),
  }));
  return { maxWaitMs, minBytes, maxBytes, topics };
}

export function encodeFetchResponse(w: Writer, res: FetchResponse): void {
  w.int32(0);
  w.array(res.topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) => {
      // last_stable_offset == high watermark: there are no open transactions.
      w.int32(p.partition).int16(p.errorCode).int64(p.highWatermark).int64(p.highWatermark).int32(0);
      let size = 0;
      for (const b of p.batches) size += b.length;
      w.int32(size);
      for (const b of p.batches) w.raw(b);
    });
  });
}
