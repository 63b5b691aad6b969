// Owns the FindCoordinator v2 codec: this single node coordinates every group.
/*
 * FindCoordinator Request (Version: 0-2) => coordinator_key STRING coordinator_type INT8
 *   (v0: coordinator_key only, always a group)
 * FindCoordinator Response (Version: 0-2) => throttle_time_ms error_code error_message coordinator
 *   (v0: error_code coordinator only)
 *   throttle_time_ms => INT32  error_code => INT16  error_message => NULLABLE_STRING
 *   coordinator => node_id INT32 host STRING port INT32
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface FindCoordinatorRequest {
  key: string;
  keyType: number;
}

export interface FindCoordinatorResponse {
  errorCode: number;
  message: string | null;
  nodeId: number;
  host: string;
  port: number;
}

export function decodeFindCoordinatorRequest(r: Reader, version = 2): FindCoordinatorRequest {
  const key = r.string();
  return { key, keyType: version >= 1 ? r.int8() : 0 };
}

export function encodeFindCoordinatorResponse(w: Writer, res: FindCoordinatorResponse, version = 2): void {
  if (version >= 1) w.int32(0).int16(res.errorCode).nullableString(res.message);
  else w.int16(res.errorCode);
  w.int32(res.nodeId).string(res.host).int32(res.port);
}
