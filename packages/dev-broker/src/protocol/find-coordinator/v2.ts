// Owns the FindCoordinator v2 codec: this single node coordinates every group.
/*
 * FindCoordinator Request (Version: 2) => coordinator_key STRING coordinator_type INT8
 * FindCoordinator Response (Version: 2) => throttle_time_ms error_code error_message coordinator
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

export function decodeFindCoordinatorRequest(r: Reader): FindCoordinatorRequest {
  return { key: r.string(), keyType: r.int8() };
}

export function encodeFindCoordinatorResponse(w: Writer, res: FindCoordinatorResponse): void {
  w.int32(0).int16(res.errorCode).nullableString(res.message);
  w.int32(res.nodeId).string(res.host).int32(res.port);
}
