// Owns the SyncGroup v2 codec: the leader's assignments in, each member's assignment out.
/*
 * SyncGroup Request (Version: 0-2) => group_id generation_id member_id [group_assignment]
 *   group_id => STRING  generation_id => INT32  member_id => STRING
 *   group_assignment => member_id STRING member_assignment BYTES   (sent by the leader only)
 * SyncGroup Response (Version: 0-2) => throttle_time_ms error_code member_assignment   (v0: no throttle)
 *   throttle_time_ms => INT32  error_code => INT16  member_assignment => BYTES
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface SyncGroupResponse {
  errorCode: number;
  assignment: Buffer;
}

export function decodeSyncGroupRequest(r: Reader): SyncGroupRequest {
  return {
    groupId: r.string(),
    generationId: r.int32(),
    memberId: r.string(),
    assignments: r.array((r) => ({ memberId: r.string(), assignment: Buffer.from(r.bytes()) })),
  };
}

export function encodeSyncGroupResponse(w: Writer, res: SyncGroupResponse, version = 2): void {
  if (version >= 1) w.int32(0);
  w.int16(res.errorCode).bytes(res.assignment);
}
