// Owns the LeaveGroup v2 codec (one member per request; batched leaves arrived in v3).
/*
 * LeaveGroup Request (Version: 0-2) => group_id STRING member_id STRING
 * LeaveGroup Response (Version: 0-2) => throttle_time_ms INT32 error_code INT16   (v0: no throttle_time_ms)
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface LeaveGroupRequest {
  groupId: string;
  memberId: string;
}

export function decodeLeaveGroupRequest(r: Reader): LeaveGroupRequest {
  return { groupId: r.string(), memberId: r.string() };
}

export function encodeLeaveGroupResponse(w: Writer, errorCode: number, version = 2): void {
  if (version >= 1) w.int32(0);
  w.int16(errorCode);
}
