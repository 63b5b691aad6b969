// Owns the dispatch table: API key -> handler.
import { ApiKey } from '../protocol/api-keys.js';
import {
  handleApiVersions,
  handleCreatePartitions,
  handleCreateTopics,
  handleDeleteRecords,
  handleDescribeConfigs,
  handleDeleteTopics,
  handleFindCoordinator,
  handleInitProducerId,
  handleMetadata,
} from './admin.js';
import type { Handler } from './context.js';
import {
  handleDeleteGroups,
  handleDescribeGroups,
  handleHeartbeat,
  handleJoinGroup,
  handleLeaveGroup,
  handleListGroups,
  handleOffsetCommit,
  handleOffsetDelete,
  handleOffsetFetch,
  handleSyncGroup,
} from './groups.js';
import { handleFetch, handleListOffsets, handleProduce } from './records.js';

export const HANDLERS: ReadonlyMap<number, Handler> = new Map<number, Handler>([
  [ApiKey.Produce, handleProduce],
  [ApiKey.Fetch, handleFetch],
  [ApiKey.ListOffsets, handleListOffsets],
  [ApiKey.Metadata, handleMetadata],
  [ApiKey.OffsetCommit, handleOffsetCommit],
  [ApiKey.OffsetFetch, handleOffsetFetch],
  [ApiKey.FindCoordinator, handleFindCoordinator],
  [ApiKey.JoinGroup, handleJoinGroup],
  [ApiKey.Heartbeat, handleHeartbeat],
  [ApiKey.LeaveGroup, handleLeaveGroup],
  [ApiKey.SyncGroup, handleSyncGroup],
  [ApiKey.DescribeGroups, handleDescribeGroups],
  [ApiKey.ListGroups, handleListGroups],
  [ApiKey.ApiVersions, handleApiVersions],
  [ApiKey.CreateTopics, handleCreateTopics],
  [ApiKey.DeleteTopics, handleDeleteTopics],
  [ApiKey.DeleteRecords, handleDeleteRecords],
  [ApiKey.InitProducerId, handleInitProducerId],
  [ApiKey.DescribeConfigs, handleDescribeConfigs],
  [ApiKey.CreatePartitions, handleCreatePartitions],
  [ApiKey.DeleteGroups, handleDeleteGroups],
  [ApiKey.OffsetDelete, handleOffsetDelete],
]);
