// Owns the JoinGroup v3 codec (rebalance timeout, no MEMBER_ID_REQUIRED round trip, no static members).
/*
 * JoinGroup Request (Version: 0-3) => group_id session_timeout rebalance_timeout member_id protocol_type
 *                                   [group_protocols]
 *   group_id => STRING  session_timeout => INT32  rebalance_timeout => INT32  member_id => STRING
 *   protocol_type => STRING
 *   group_protocols => protocol_name STRING protocol_metadata BYTES
 * JoinGroup Response (Version: 0-3) => throttle_time_ms error_code generation_id group_protocol leader_id
 *                                    member_id [members]
 *   throttle_time_ms => INT32  error_code => INT16  generation_id => INT32  group_protocol => STRING
 *   leader_id => STRING  member_id => STRING
 *   members => member_id STRING member_metadata BYTES   (non-empty only in the leader's response)
 * v0 has no rebalance_timeout (the session timeout serves as both, as in Kafka); v0-v1 responses
 * have no throttle_time_ms.
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  memberId: string;
  protocolType: string;
  protocols: Array<{ name: string; metadata: Buffer }>;
}

export interface JoinGroupResponse {
  errorCode: number;
  generationId: number;
  protocol: string;
  leaderId: string;
  memberId: string;
  members: Array<{ memberId: string; metadata: Buffer }>;
}

export function decodeJoinGroupRequest(r: Reader, version = 3): JoinGroupRequest {
  const groupId = r.string();
  const sessionTimeoutMs = r.int32();
  return {
    groupId,
    sessionTimeoutMs,
    rebalanceTimeoutMs: version >= 1 ? r.int32() : sessionTimeoutMs,
    memberId: r.string(),
    protocolType: r.string(),
    // Copied: the member keeps its metadata across rebalances, longer than the request frame lives.
    protocols: r.array((r) => ({ name: r.string(), metadata: Buffer.from(r.bytes()) })),
  };
}

export function encodeJoinGroupResponse(w: Writer, res: JoinGroupResponse, version = 3): void {
  if (version >= 2) w.int32(0);
  w.int16(res.errorCode).int32(res.generationId).string(res.protocol);
  w.string(res.leaderId).string(res.memberId);
  w.array(res.members, (w, m) => w.string(m.memberId).bytes(m.metadata));
}
