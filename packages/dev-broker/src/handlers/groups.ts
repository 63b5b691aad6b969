// Owns the group handlers: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit/Fetch/Delete, Describe/List/DeleteGroups.
import { decodeDeleteGroupsRequest, encodeDeleteGroupsResponse } from '../protocol/delete-groups/v1.js';
import { decodeDescribeGroupsRequest, encodeDescribeGroupsResponse } from '../protocol/describe-groups/v2.js';
import { decodeHeartbeatRequest, encodeHeartbeatResponse } from '../protocol/heartbeat/v2.js';
import { decodeJoinGroupRequest, encodeJoinGroupResponse } from '../protocol/join-group/v3.js';
import { decodeLeaveGroupRequest, encodeLeaveGroupResponse } from '../protocol/leave-group/v2.js';
import { encodeListGroupsResponse } from '../protocol/list-groups/v2.js';
import { decodeOffsetCommitRequest, encodeOffsetCommitResponse } from '../protocol/offset-commit/v4.js';
import { decodeOffsetDeleteRequest, encodeOffsetDeleteResponse } from '../protocol/offset-delete/v0.js';
import { decodeOffsetFetchRequest, encodeOffsetFetchResponse } from '../protocol/offset-fetch/v3.js';
import { decodeSyncGroupRequest, encodeSyncGroupResponse } from '../protocol/sync-group/v2.js';
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { BrokerContext, Connection, HandlerResult } from './context.js';

export function handleJoinGroup(
  ctx: BrokerContext,
  conn: Connection,
  r: Reader,
  w: Writer,
  version: number,
): HandlerResult {
  const res = ctx.groups.join(decodeJoinGroupRequest(r, version), conn.clientId, conn.clientHost);
  if (!(res instanceof Promise)) return encodeJoinGroupResponse(w, res, version);
  return res.then((v) => encodeJoinGroupResponse(w, v, version));
}

export function handleSyncGroup(
  ctx: BrokerContext,
  _conn: Connection,
  r: Reader,
  w: Writer,
  version: number,
): HandlerResult {
  const res = ctx.groups.sync(decodeSyncGroupRequest(r));
  if (!(res instanceof Promise)) return encodeSyncGroupResponse(w, res, version);
  return res.then((v) => encodeSyncGroupResponse(w, v, version));
}

export function handleHeartbeat(
  ctx: BrokerContext,
  _conn: Connection,
  r: Reader,
  w: Writer,
  version: number,
): HandlerResult {
  const req = decodeHeartbeatRequest(r);
  encodeHeartbeatResponse(w, ctx.groups.heartbeat(req.groupId, req.generationId, req.memberId), version);
}

export function handleLeaveGroup(
  ctx: BrokerContext,
  _conn: Connection,
  r: Reader,
  w: Writer,
  version: number,
): HandlerResult {
  const req = decodeLeaveGroupRequest(r);
  encodeLeaveGroupResponse(w, ctx.groups.leave(req.groupId, req.memberId), version);
}

export function handleOffsetCommit(
  ctx: BrokerContext,
  _conn: Connection,
  r: Reader,
  w: Writer,
  version: number,
): HandlerResult {
  encodeOffsetCommitResponse(w, ctx.groups.commit(decodeOffsetCommitRequest(r)), version);
}

export function handleOffsetFetch(
  ctx: BrokerContext,
  _conn: Connection,
  r: Reader,
  w: Writer,
  version: number,
): HandlerResult {
  encodeOffsetFetchResponse(w, ctx.groups.fetchOffsets(decodeOffsetFetchRequest(r)), version);
}

export function handleDescribeGroups(
  ctx: BrokerContext,
  _conn: Connection,
  r: Reader,
  w: Writer,
  version: number,
): HandlerResult {
  encodeDescribeGroupsResponse(
    w,
    decodeDescribeGroupsRequest(r).map((id) => ctx.groups.describe(id)),
    version,
  );
}

export function handleListGroups(
  ctx: BrokerContext,
  _conn: Connection,
  _r: Reader,
  w: Writer,
  version: number,
): HandlerResult {
  encodeListGroupsResponse(w, ctx.groups.list(), version);
}

export function handleDeleteGroups(
  ctx: BrokerContext,
  _conn: Connection,
  r: Reader,
  w: Writer,
): HandlerResult {
  encodeDeleteGroupsResponse(
    w,
    decodeDeleteGroupsRequest(r).map((groupId) => ({ groupId, errorCode: ctx.groups.deleteGroup(groupId) })),
  );
}

export function handleOffsetDelete(
  ctx: BrokerContext,
  _conn: Connection,
  r: Reader,
  w: Writer,
): HandlerResult {
  encodeOffsetDeleteResponse(w, ctx.groups.deleteOffsets(decodeOffsetDeleteRequest(r)));
}
