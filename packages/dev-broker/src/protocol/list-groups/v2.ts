// Owns the ListGroups v2 codec.
/*
 * ListGroups Request (Version: 0-2) => (empty)
 * ListGroups Response (Version: 0-2) => throttle_time_ms INT32 error_code INT16 [groups]   (v0: no throttle)
 *   groups => group_id STRING protocol_type STRING
 */
import type { Writer } from '../writer.js';

export function encodeListGroupsResponse(
  w: Writer,
  groups: Array<{ groupId: string; protocolType: string }>,
  version = 2,
): void {
  if (version >= 1) w.int32(0);
  w.int16(0);
  w.array(groups, (w, g) => w.string(g.groupId).string(g.protocolType));
}
