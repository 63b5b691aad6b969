// Owns the Produce v0-v3 codec; record sets stay as zero-copy slices of the request frame.
/*
 * Produce Request (Version: 0-3) => transactional_id acks timeout [topic_data]
 *   transactional_id => NULLABLE_STRING   (v3+)
 *   acks => INT16        (0: no response is sent at all; 1 / -1: respond after the append)
 *   timeout => INT32
 *   topic_data => topic STRING [data]
 *     data => partition INT32 record_set RECORDS   (RECORDS = INT32 size + v2 record batches)
 * Produce Response (Version: 0-3) => [responses] throttle_time_ms
 *   responses => topic STRING [partition_responses]
 *     partition_responses => partition INT32 error_code INT16 base_offset INT64 log_append_time INT64
 *                            (log_append_time v2+)
 *   throttle_time_ms => INT32   (v1+)
 * v0-v2 exist because librdkafka compresses only when the broker's Produce range includes v0
 * (rdkafka_msgset_writer.c); it then sends v3. Their record sets must still be magic 2 batches:
 * message format v0/v1 is refused per partition (CORRUPT_MESSAGE or UNSUPPORTED_VERSION; no conversion).
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface ProduceRequest {
  transactionalId: string | null;
  acks: number;
  timeoutMs: number;
  topics: Array<{ name: string; partitions: Array<{ partition: number; records: Buffer | null }> }>;
}

export interface ProduceResponse {
  topics: Array<{
    name: string;
    partitions: Array<{ partition: number; errorCode: number; baseOffset: number }>;
  }>;
}

export function decodeProduceRequest(r: Reader, version = 3): ProduceRequest {
  const transactionalId = version >= 3 ? r.nullableString() : null;
  const acks = r.int16();
  const timeoutMs = r.int32();
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => ({ partition: r.int32(), records: r.nullableBytes() })),
  }));
  return { transactionalId, acks, timeoutMs, topics };
}

export function encodeProduceResponse(w: Writer, res: ProduceResponse, version = 3): void {
  w.array(res.topics, (w, t) => {
    w.string(t.name);
    // log_append_time -1: topics use CreateTime, so the client keeps its own timestamps.
    w.array(t.partitions, (w, p) => {
      w.int32(p.partition).int16(p.errorCode).int64(p.baseOffset);
      if (version >= 2) w.int64(-1);
    });
  });
  if (version >= 1) w.int32(0);
}
