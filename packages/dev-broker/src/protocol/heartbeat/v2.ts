// Owns the Heartbeat v2 codec.
/*
 * Heartbeat Request (Version: 0-2) => group_id STRING generation_id INT32 member_id STRING
 * Heartbeat Response (Version: 0-2) => throttle_time_ms INT32 error_code INT16   (v0: no throttle_time_ms)
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
}

export function decodeHeartbeatRequest(r: Reader): HeartbeatRequest {
  return { groupId: r.string(), generationId: r.int32(), memberId: r.string() };
}

export function encodeHeartbeatResponse(w: Writer, errorCode: number, version = 2): void {
  if (version >= 1) w.int32(0);
  w.int16(errorCode);
}
