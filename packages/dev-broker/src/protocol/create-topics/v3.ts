// Owns the CreateTopics v0-v4 codec.
/*
 * CreateTopics Request (Version: 0-4) => [create_topic_requests] timeout validate_only   (v0: no validate_only)
 *   create_topic_requests => topic STRING num_partitions INT32 replication_factor INT16
 *                            [replica_assignment] [config_entries]
 *     replica_assignment => partition INT32 [replicas INT32]
 *     config_entries => config_name STRING config_value NULLABLE_STRING
 *   timeout => INT32
 *   validate_only => BOOLEAN
 * CreateTopics Response (Version: 0-4) => throttle_time_ms [topic_errors]   (v0-v1: no throttle_time_ms)
 *   topic_errors => topic STRING error_code INT16 error_message NULLABLE_STRING   (v0: no error_message)
 * v4 is v3 on the wire; it allows num_partitions and replication_factor -1 (broker defaults), which
 * every version here accepts.
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface CreateTopicSpec {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  assignments: Array<{ partition: number; replicas: number[] }>;
  configs: Array<{ name: string; value: string | null }>;
}

export interface CreateTopicsRequest {
  topics: CreateTopicSpec[];
  timeoutMs: number;
  validateOnly: boolean;
}

export interface TopicError {
  name: string;
  errorCode: number;
  message: string | null;
}

export function decodeCreateTopicsRequest(r: Reader, version = 3): CreateTopicsRequest {
  const topics = r.array((r) => ({
    name: r.string(),
    numPartitions: r.int32(),
    replicationFactor: r.int16(),
    assignments: r.array((r) => ({ partition: r.int32(), replicas: r.array((r) => r.int32()) })),
    configs: r.array((r) => ({ name: r.string(), value: r.nullableString() })),
  }));
  const timeoutMs = r.int32();
  return { topics, timeoutMs, validateOnly: version >= 1 ? r.bool() : false };
}

export function encodeCreateTopicsResponse(w: Writer, topics: TopicError[], version = 3): void {
  if (version >= 2) w.int32(0);
  w.array(topics, (w, t) => {
    w.string(t.name).int16(t.errorCode);
    if (version >= 1) w.nullableString(t.message);
  });
}
