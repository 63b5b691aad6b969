// Owns the API keys the broker serves and the single version implemented for each.

export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  InitProducerId: 22,
} as const;

/**
 * [min, max] advertised in ApiVersions. One version per API, each the newest non-flexible one whose
 * semantics we implement fully and that kafkajs 2.2.4 supports (kafkajs picks min(its max, ours)).
 * ApiVersions itself answers v0-v2 because clients probe it before they know what we support.
 */
export const SUPPORTED_VERSIONS: ReadonlyMap<number, readonly [number, number]> = new Map([
  [ApiKey.Produce, [3, 3]],
  [ApiKey.Fetch, [4, 4]],
  [ApiKey.ListOffsets, [3, 3]],
  [ApiKey.Metadata, [4, 4]],
  [ApiKey.OffsetCommit, [4, 4]],
  [ApiKey.OffsetFetch, [3, 3]],
  [ApiKey.FindCoordinator, [2, 2]],
  [ApiKey.JoinGroup, [3, 3]],
  [ApiKey.Heartbeat, [2, 2]],
  [ApiKey.LeaveGroup, [2, 2]],
  [ApiKey.SyncGroup, [2, 2]],
  [ApiKey.DescribeGroups, [2, 2]],
  [ApiKey.ListGroups, [2, 2]],
  [ApiKey.ApiVersions, [0, 2]],
  [ApiKey.CreateTopics, [3, 3]],
  [ApiKey.DeleteTopics, [1, 1]],
  [ApiKey.InitProducerId, [1, 1]],
] as const);
