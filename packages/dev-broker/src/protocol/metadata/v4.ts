// Owns the Metadata v4 codec: cluster brokers and topic/partition leadership.
/*
 * Metadata Request (Version: 0-4) => [topics] allow_auto_topic_creation
 *   topics => STRING            (null array: all topics; empty array: none. v0: empty = all)
 *   allow_auto_topic_creation => BOOLEAN   (v4+; before it, Kafka auto-creates when enabled)
 * Metadata Response (Version: 0-4) => throttle_time_ms [brokers] cluster_id controller_id [topic_metadata]
 *   (throttle_time_ms v3+, cluster_id v2+, controller_id v1+)
 *   brokers => node_id INT32 host STRING port INT32 rack NULLABLE_STRING   (rack v1+)
 *   cluster_id => NULLABLE_STRING
 *   controller_id => INT32
 *   topic_metadata => error_code INT16 topic STRING is_internal BOOLEAN [partition_metadata]   (is_internal v1+)
 *     partition_metadata => error_code INT16 partition INT32 leader INT32 [replicas INT32] [isr INT32]
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface MetadataRequest {
  topics: string[] | null;
  allowAutoTopicCreation: boolean;
}

export interface MetadataResponse {
  brokers: Array<{ nodeId: number; host: string; port: number }>;
  clusterId: string | null;
  controllerId: number;
  topics: Array<{
    errorCode: number;
    name: string;
    partitions: Array<{ partition: number; leader: number }>;
  }>;
}

export function decodeMetadataRequest(r: Reader, version = 4): MetadataRequest {
  const topics = r.nullableArray((r) => r.string());
  if (version === 0 && topics?.length === 0) return { topics: null, allowAutoTopicCreation: true };
  return { topics, allowAutoTopicCreation: version >= 4 ? r.bool() : true };
}

export function encodeMetadataResponse(w: Writer, res: MetadataResponse, version = 4): void {
  if (version >= 3) w.int32(0);
  w.array(res.brokers, (w, b) => {
    w.int32(b.nodeId).string(b.host).int32(b.port);
    if (version >= 1) w.nullableString(null);
  });
  if (version >= 2) w.nullableString(res.clusterId);
  if (version >= 1) w.int32(res.controllerId);
  w.array(res.topics, (w, t) => {
    w.int16(t.errorCode).string(t.name);
    if (version >= 1) w.bool(false);
    w.array(t.partitions, (w, p) => {
      w.int16(0).int32(p.partition).int32(p.leader);
      w.int32(1).int32(p.leader); // replicas: the single node
      w.int32(1).int32(p.leader); // isr
    });
  });
}
