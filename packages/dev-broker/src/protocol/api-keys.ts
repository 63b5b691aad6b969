// Owns the API keys the broker serves, the version range implemented for each, and which are flexible.

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
  DeleteRecords: 21,
  InitProducerId: 22,
  DescribeConfigs: 32,
  CreatePartitions: 37,
  DeleteGroups: 42,
  OffsetDelete: 47,
} as const;

/**
 * [min, max] advertised in ApiVersions. Clients pick the highest version both sides support
 * (kafkajs: min(its max, ours)), so the maxima are the versions kafkajs 2.2.4 has always used here;
 * the minima reach down to what librdkafka 2.x probes in its feature checks (rdkafka_feature.c:
 * e.g. ListOffsets 1 for OFFSET_TIME, JoinGroup/SyncGroup/Heartbeat/LeaveGroup/FindCoordinator 0 and
 * OffsetCommit 1-2 / OffsetFetch 1 for balanced consumer groups) and to the highest versions
 * librdkafka 2.0 sends (ListOffsets 0-2). Produce reaches down to v0 because librdkafka compresses
 * only when it does (see produce/v3.ts); its record sets must still be magic 2. Fetch stays at 4+:
 * v0-v3 would need the stored batches down-converted to message format v0/v1 (Kafka does; we
 * don't). Every version in a range is implemented.
 */
export const SUPPORTED_VERSIONS: ReadonlyMap<number, readonly [number, number]> = new Map([
  [ApiKey.Produce, [0, 3]],
  [ApiKey.Fetch, [4, 4]],
  [ApiKey.ListOffsets, [0, 3]],
  [ApiKey.Metadata, [0, 4]],
  [ApiKey.OffsetCommit, [2, 4]],
  [ApiKey.OffsetFetch, [1, 3]],
  [ApiKey.FindCoordinator, [0, 2]],
  [ApiKey.JoinGroup, [0, 3]],
  [ApiKey.Heartbeat, [0, 2]],
  [ApiKey.LeaveGroup, [0, 2]],
  [ApiKey.SyncGroup, [0, 2]],
  [ApiKey.DescribeGroups, [0, 2]],
  [ApiKey.ListGroups, [0, 2]],
  [ApiKey.ApiVersions, [0, 3]],
  [ApiKey.CreateTopics, [0, 4]],
  [ApiKey.DeleteTopics, [0, 1]],
  [ApiKey.DeleteRecords, [0, 1]],
  [ApiKey.InitProducerId, [0, 1]],
  [ApiKey.DescribeConfigs, [0, 2]],
  [ApiKey.CreatePartitions, [0, 1]],
  [ApiKey.DeleteGroups, [0, 1]],
  [ApiKey.OffsetDelete, [0, 0]],
] as const);

/**
 * First flexible version (request header v2, response header v1, compact types, tagged fields) of
 * each API that has one within the range above. ApiVersions answers with response header v0 even
 * when flexible, so a client that does not know the broker yet can always read it.
 */
export const FIRST_FLEXIBLE_VERSION: ReadonlyMap<number, number> = new Map([[ApiKey.ApiVersions, 3]]);
