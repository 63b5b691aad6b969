// Owns the CreatePartitions v0-v1 codec (v1 only changed throttling semantics).
/*
 * CreatePartitions Request (Version: 0-1) => [topics] timeout_ms validate_only
 *   topics => name STRING count INT32 [assignments]   (assignments: nullable array)
 *     assignments => [broker_ids INT32]
 *   timeout_ms => INT32  validate_only => BOOLEAN
 * CreatePartitions Response (Version: 0-1) => throttle_time_ms [results]
 *   results => name STRING error_code INT16 error_message NULLABLE_STRING
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface CreatePartitionsRequest {
  topics: Array<{ name: string; count: number; assignments: number[][] | null }>;
  timeoutMs: number;
  validateOnly: boolean;
}

export interface CreatePartitionsResult {
  name: string;
  errorCode: number;
  message: string | null;
}

export function decodeCreatePartitionsRequest(r: Reader): CreatePartitionsRequest {
  const topics = r.array((r) => ({
    name: r.string(),
    count: r.int32(),
    assignments: r.nullableArray((r) => r.array((r) => r.int32())),
  }));
  const timeoutMs = r.int32();
  return { topics, timeoutMs, validateOnly: r.bool() };
}

export function encodeCreatePartitionsResponse(w: Writer, results: CreatePartitionsResult[]): void {
  w.int32(0);
  w.array(results, (w, t) => w.string(t.name).int16(t.errorCode).nullableString(t.message));
}
