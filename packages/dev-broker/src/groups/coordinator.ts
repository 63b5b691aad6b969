// Owns all consumer groups of the node: routing group requests, offset commit/fetch, describe and list.
import type { Logger } from 'pino';
import { ErrorCode } from '../protocol/errors.js';
import type { GroupDescription } from '../protocol/describe-groups/v2.js';
import type { OffsetDeleteRequest, OffsetDeleteResponse } from '../protocol/offset-delete/v0.js';
import { Reader } from '../protocol/reader.js';
import type { JoinGroupRequest, JoinGroupResponse } from '../protocol/join-group/v3.js';
import type { OffsetCommitRequest, PartitionErrors } from '../protocol/offset-commit/v4.js';
import type { OffsetFetchRequest, OffsetFetchResponse } from '../protocol/offset-fetch/v3.js';
import type { SyncGroupRequest, SyncGroupResponse } from '../protocol/sync-group/v2.js';
import { Group } from './group.js';
import type { GroupOptions } from './group.js';
import type { OffsetStore } from './offset-store.js';

export interface CoordinatorDeps {
  offsets: OffsetStore;
  options: Omit<GroupOptions, 'logger'>;
  logger: Logger;
  /** Whether topic/partition exists: commits for unknown partitions fail as in Kafka. */
  partitionExists(topic: string, partition: number): boolean;
}

const EMPTY = Buffer.alloc(0);

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly deps: CoordinatorDeps) {}

  private group(id: string, create: boolean): Group | undefined {
    let g = this.groups.get(id);
    if (!g && create) {
      g = new Group(id, { ...this.deps.options, logger: this.deps.logger });
      this.groups.set(id, g);
    }
    return g;
  }

  join(
    req: JoinGroupRequest,
    clientId: string,
    clientHost: string,
  ): Promise<JoinGroupResponse> | JoinGroupResponse {
    if (req.groupId === '') {
      return {
        errorCode: ErrorCode.INVALID_GROUP_ID,
        generationId: -1,
        protocol: '',
        leaderId: '',
        memberId: '',
        members: [],
      };
    }
    // An unknown member id for a group this node does not know (e.g. after a broker restart) is
    // answered by the group itself with UNKNOWN_MEMBER_ID, which makes kafkajs rejoin from scratch.
    return (this.group(req.groupId, true) as Group).join(req, clientId, clientHost);
  }

  sync(req: SyncGroupRequest): Promise<SyncGroupResponse> | SyncGroupResponse {
    const g = this.group(req.groupId, false);
    if (!g) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY };
    return g.sync(req);
  }

  heartbeat(groupId: string, generationId: number, memberId: string): number {
    const g = this.group(groupId, false);
    return g ? g.heartbeat(generationId, memberId) : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  leave(groupId: string, memberId: string): number {
    const g = this.group(groupId, false);
    return g ? g.leave(memberId) : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  commit(req: OffsetCommitRequest): PartitionErrors {
    let error: number = ErrorCode.NONE;
    if (req.groupId === '') error = ErrorCode.INVALID_GROUP_ID;
    else {
      const g = this.group(req.groupId, false);
      if (g) error = g.checkCommit(req.generationId, req.memberId);
      else if (req.generationId >= 0) error = ErrorCode.UNKNOWN_MEMBER_ID;
    }
    const accepted: Array<{ topic: string; partition: number; offset: number; metadata: string | null }> = [];
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        let errorCode = error;
        if (errorCode === ErrorCode.NONE && !this.deps.partitionExists(t.name, p.partition)) {
          errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        }
        if (errorCode === ErrorCode.NONE) accepted.push({ topic: t.name, ...p });
        return { partition: p.partition, errorCode };
      }),
    }));
    if (accepted.length > 0) this.deps.offsets.commit(req.groupId, accepted);
    return { topics };
  }

  fetchOffsets(req: OffsetFetchRequest): OffsetFetchResponse {
    const { offsets } = this.deps;
    const wanted =
      req.topics ??
      [...offsets.all(req.groupId)].map(([name, parts]) => ({ name, partitions: [...parts.keys()] }));
    return {
      errorCode: ErrorCode.NONE,
      topics: wanted.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((partition) => {
          const c = offsets.get(req.groupId, t.name, partition);
          return {
            partition,
            offset: c?.offset ?? -1,
            metadata: c ? c.metadata : '',
            errorCode: ErrorCode.NONE,
          };
        }),
      })),
    };
  }

  describe(groupId: string): GroupDescription {
    const g = this.groups.get(groupId);
    const known = g !== undefined || [...this.deps.offsets.all(groupId)].length > 0;
    if (!g) {
      return {
        errorCode: ErrorCode.NONE,
        groupId,
        state: known ? 'Empty' : 'Dead',
        protocolType: '',
        protocol: '',
        members: [],
      };
    }
    const stable = g.state === 'Stable';
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      state: g.state,
      protocolType: g.protocolType,
      protocol: stable ? g.protocol : '',
      members: [...g.members.values()].map((m) => ({
        memberId: m.id,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable ? (m.protocols.find((p) => p.name === g.protocol)?.metadata ?? EMPTY) : EMPTY,
        assignment: stable ? m.assignment : EMPTY,
      })),
    };
  }

  list(): Array<{ groupId: string; protocolType: string }> {
    const out = new Map<string, string>();
    for (const id of this.deps.offsets.groupIds()) out.set(id, '');
    for (const g of this.groups.values()) out.set(g.id, g.protocolType);
    return [...out].map(([groupId, protocolType]) => ({ groupId, protocolType }));
  }

  /**
   * DeleteGroups: an empty (or offsets-only) group is forgotten with its offsets; one with members
   * gets NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND, as in Kafka.
   */
  deleteGroup(groupId: string): number {
    const g = this.groups.get(groupId);
    if (g && g.members.size > 0) return ErrorCode.NON_EMPTY_GROUP;
    if (!g && [...this.deps.offsets.all(groupId)].length === 0) return ErrorCode.GROUP_ID_NOT_FOUND;
    g?.close();
    this.groups.delete(groupId);
    this.deps.offsets.deleteGroup(groupId);
    return ErrorCode.NONE;
  }

  /**
   * OffsetDelete: drops committed offsets, except of topics a live consumer member subscribes to
   * (GROUP_SUBSCRIBED_TO_TOPIC for those partitions, as in Kafka).
   */
  deleteOffsets(req: OffsetDeleteRequest): OffsetDeleteResponse {
    const g = this.groups.get(req.groupId);
    if (!g && [...this.deps.offsets.all(req.groupId)].length === 0) {
      return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    }
    const subscribed = new Set<string>();
    if (g && g.protocolType === 'consumer') {
      for (const m of g.members.values()) {
        for (const p of m.protocols) for (const t of subscribedTopics(p.metadata)) subscribed.add(t);
      }
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: req.topics.map((t) => {
        const refused = subscribed.has(t.name);
        if (!refused) this.deps.offsets.deletePartitions(req.groupId, t.name, t.partitions);
        return {
          name: t.name,
          partitions: t.partitions.map((partition) => ({
            partition,
            errorCode: refused
              ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
              : this.deps.partitionExists(t.name, partition)
                ? ErrorCode.NONE
                : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          })),
        };
      }),
    };
  }

  close(): void {
    for (const g of this.groups.values()) g.close();
  }
}

/**
 * Topics of a consumer protocol subscription (version INT16, [topics STRING], user_data BYTES);
 * none when the metadata is not one.
 */
function subscribedTopics(metadata: Buffer): string[] {
  try {
    const r = new Reader(metadata);
    r.int16();
    return r.array((r) => r.string());
  } catch {
    return [];
  }
}
