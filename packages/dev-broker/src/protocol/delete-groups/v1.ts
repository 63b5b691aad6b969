// Owns the DeleteGroups v0-v1 codec (v1 only changed throttling semantics).
/*
 * DeleteGroups Request (Version: 0-1) => [groups_names STRING]
 * DeleteGroups Response (Version: 0-1) => throttle_time_ms [results]
 *   throttle_time_ms => INT32
 *   results => group_id STRING error_code INT16
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export function decodeDeleteGroupsRequest(r: Reader): string[] {
  return r.array((r) => r.string());
}

export function encodeDeleteGroupsResponse(
  w: Writer,
  results: Array<{ groupId: string; errorCode: number }>,
): void {
  w.int32(0);
  w.array(results, (w, g) => w.string(g.groupId).int16(g.errorCode));
}
