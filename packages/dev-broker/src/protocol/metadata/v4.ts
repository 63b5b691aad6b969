// Owns the Metadata v4 codec: cluster brokers and topic/partition leadership.
/*
 * Metadata Request (Version: 4) => [topics] allow_auto_topic_creation
 *   topics => STRING            (null array: all topics; empty array: none)
 *   allow_auto_topic_creation => BOOLEAN
 * Metadata Response (Version: 4) => throttle_time_ms [brokers] cluster_id controller_id [topic_metadata]
 *   brokers => node_id INT32 host STRING port INT32 rack NULLABLE_STRING
 *   cluster_id => NULLABLE_STRING
 *   controller_id => INT32
 *   topic_metadata => error_code INT16 topic STRING is_internal BOOLEAN [partition_metadata]
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

export function decodeMetadataRequest(r: Reader): MetadataRequest {
  const topics = r.nullableArray((r) => r.string());
  return { topics, allowAutoTopicCreation: r.bool() };
}

export function encodeMetadataResponse(w: Writer, res: MetadataResponse): void {
  w.int32(0);
  w.array(res.brokers, (w, b) => w.int32(b.nodeId).string(b.host).int32(b.port).nullableString(null));
  w.nullableString(res.clusterId).int32(res.controllerId);
  w.array(res.topics, (w, t) => {
    w.int16(t.errorCode).string(t.name).bool(false);
    w.array(t.partitions, (w, p) => {
      w.int16(0).int32(p.partition).int32(p.leader);
      w.int32(1).int32(p.leader); // replicas: the single node
      w.int32(1).int32(p.leader); // isr
    });
  });
}
