// Owns the CreateTopics v3 codec.
/*
 * CreateTopics Request (Version: 3) => [create_topic_requests] timeout validate_only
 *   create_topic_requests => topic STRING num_partitions INT32 replication_factor INT16
 *                            [replica_assignment] [config_entries]
 *     replica_assignment => partition INT32 [replicas INT32]
 *     config_entries => config_name STRING config_value NULLABLE_STRING
 *   timeout => INT32
 *   validate_only => BOOLEAN
 * CreateTopics Response (Version: 3) => throttle_time_ms [topic_errors]
 *   topic_errors => topic STRING error_code INT16 error_message NULLABLE_STRING
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

export function decodeCreateTopicsRequest(r: Reader): CreateTopicsRequest {
  const topics = r.array((r) => ({
    name: r.string(),
    numPartitions: r.int32(),
    replicationFactor: r.int16(),
    assignments: r.array((r) => ({ partition: r.int32(), replicas: r.array((r) => r.int32()) })),
    configs: r.array((r) => ({ name: r.string(), value: r.nullableString() })),
  }));
  return { topics, timeoutMs: r.int32(), validateOnly: r.bool() };
}

export function encodeCreateTopicsResponse(w: Writer, topics: TopicError[]): void {
  w.int32(0);
  w.array(topics, (w, t) => w.string(t.name).int16(t.errorCode).nullableString(t.message));
}
