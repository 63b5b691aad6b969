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
import type { BrokerContext, Connection, Handler, HandlerResult } from './context.js';

export const handleJoinGroup: Handler = (ctx, conn, r, w, version) => {
  const res = ctx.groups.join(decodeJoinGroupRequest(r, version), conn.clientId, conn.clientHost);
  if (!(res instanceof Promise)) return encodeJoinGroupResponse(w, res, version);
  return res.then((v) => encodeJoinGroupResponse(w, v, version));
};

export const handleSyncGroup: Handler = (ctx, _conn, r, w, version) => {
  const res = ctx.groups.sync(decodeSyncGroupRequest(r));
  if (!(res instanceof Promise)) return encodeSyncGroupResponse(w, res, version);
  return res.then((v) => encodeSyncGroupResponse(w, v, version));
};

export const handleHeartbeat: Handler = (ctx, _conn, r, w, version) => {
  const req = decodeHeartbeatRequest(r);
  encodeHeartbeatResponse(w, ctx.groups.heartbeat(req.groupId, req.generationId, req.memberId), version);
};

export const handleLeaveGroup: Handler = (ctx, _conn, r, w, version) => {
  const req = decodeLeaveGroupRequest(r);
  encodeLeaveGroupResponse(w, ctx.groups.leave(req.groupId, req.memberId), version);
};

export const handleOffsetCommit: Handler = (ctx, _conn, r, w, version) => {
  encodeOffsetCommitResponse(w, ctx.groups.commit(decodeOffsetCommitRequest(r)), version);
};

export const handleOffsetFetch: Handler = (ctx, _conn, r, w, version) => {
  encodeOffsetFetchResponse(w, ctx.groups.fetchOffsets(decodeOffsetFetchRequest(r)), version);
};

export const handleDescribeGroups: Handler = (ctx, _conn, r, w, version) => {
  encodeDescribeGroupsResponse(
    w,
    decodeDescribeGroupsRequest(r).map((id) => ctx.groups.describe(id)),
    version,
  );
};

export const handleListGroups: Handler = (ctx, _conn, _r, w, version) => {
  encodeListGroupsResponse(w, ctx.groups.list(), version);
};

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
