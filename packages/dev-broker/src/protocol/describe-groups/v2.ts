// Owns the DescribeGroups v2 codec.
/*
 * DescribeGroups Request (Version: 0-2) => [group_ids STRING]
 * DescribeGroups Response (Version: 0-2) => throttle_time_ms [groups]   (v0: no throttle_time_ms)
 *   groups => error_code INT16 group_id STRING state STRING protocol_type STRING protocol STRING [members]
 *     members => member_id STRING client_id STRING client_host STRING member_metadata BYTES
 *                member_assignment BYTES
 * An unknown group is described as state "Dead" with NONE, as Kafka does.
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface GroupDescription {
  errorCode: number;
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: Array<{
    memberId: string;
    clientId: string;
    clientHost: string;
    metadata: Buffer;
    assignment: Buffer;
  }>;
}

export function decodeDescribeGroupsRequest(r: Reader): string[] {
  return r.array((r) => r.string());
}

export function encodeDescribeGroupsResponse(w: Writer, groups: GroupDescription[], version = 2): void {
  if (version >= 1) w.int32(0);
  w.array(groups, (w, g) => {
    w.int16(g.errorCode).string(g.groupId).string(g.state).string(g.protocolType).string(g.protocol);
    w.array(g.members, (w, m) =>
      w.string(m.memberId).string(m.clientId).string(m.clientHost).bytes(m.metadata).bytes(m.assignment),
    );
  });
}
