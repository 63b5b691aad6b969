// Owns the cluster/admin handlers: ApiVersions, Metadata, CreateTopics, DeleteTopics, FindCoordinator, InitProducerId.
import { isLegalTopicName } from '../log/log-manager.js';
import type { Topic, TopicConfig } from '../log/log-manager.js';
import { SUPPORTED_VERSIONS } from '../protocol/api-keys.js';
import { encodeApiVersionsResponse } from '../protocol/api-versions/v2.js';
import { decodeCreateTopicsRequest, encodeCreateTopicsResponse } from '../protocol/create-topics/v3.js';
import type { CreateTopicSpec, TopicError } from '../protocol/create-topics/v3.js';
import { decodeDeleteTopicsRequest, encodeDeleteTopicsResponse } from '../protocol/delete-topics/v1.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  decodeFindCoordinatorRequest,
  encodeFindCoordinatorResponse,
} from '../protocol/find-coordinator/v2.js';
import {
  decodeInitProducerIdRequest,
  encodeInitProducerIdResponse,
} from '../protocol/init-producer-id/v1.js';
import { decodeMetadataRequest, encodeMetadataResponse } from '../protocol/metadata/v4.js';
import type { MetadataResponse } from '../protocol/metadata/v4.js';
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { BrokerContext, Connection, HandlerResult } from './context.js';
import { topicOrCreate } from './records.js';

/** Kafka's own limit would be far higher; this one keeps a typo from allocating a million logs. */
const MAX_PARTITIONS = 10_000;

export function handleApiVersions(
  _ctx: BrokerContext,
  _conn: Connection,
  _r: Reader,
  w: Writer,
  version: number,
): HandlerResult {
  const supported = version >= 0 && version <= 2;
  encodeApiVersionsResponse(w, supported ? version : 0, {
    errorCode: supported ? ErrorCode.NONE : ErrorCode.UNSUPPORTED_VERSION,
    apiVersions: [...SUPPORTED_VERSIONS].map(([key, [min, max]]) => [key, min, max] as const),
  });
}

function topicMetadata(ctx: BrokerContext, t: Topic): MetadataResponse['topics'][number] {
  return {
    errorCode: ErrorCode.NONE,
    name: t.name,
    partitions: t.partitions.map((p) => ({ partition: p.partition, leader: ctx.nodeId })),
  };
}

export function handleMetadata(ctx: BrokerContext, _conn: Connection, r: Reader, w: Writer): HandlerResult {
  const req = decodeMetadataRequest(r);
  const topics =
    req.topics === null
      ? [...ctx.logs.topics.values()].map((t) => topicMetadata(ctx, t))
      : req.topics.map((name) => {
          const t = topicOrCreate(ctx, name, req.allowAutoTopicCreation);
          if (t) return topicMetadata(ctx, t);
          const errorCode = isLegalTopicName(name)
            ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            : ErrorCode.INVALID_TOPIC_EXCEPTION;
          return { errorCode, name, partitions: [] };
        });
  encodeMetadataResponse(w, {
    brokers: [{ nodeId: ctx.nodeId, host: ctx.host, port: ctx.port }],
    clusterId: 'taskwire-dev-broker',
    controllerId: ctx.nodeId,
    topics,
  });
}

function parseConfigs(spec: CreateTopicSpec): TopicConfig | string {
  const config: TopicConfig = {};
  for (const { name, value } of spec.configs) {
    if (name !== 'retention.ms' && name !== 'retention.bytes') continue; // others are accepted and ignored
    const n = Number(value);
    if (value === null || !Number.isInteger(n) || n < -1) return `invalid ${name}: ${String(value)}`;
    if (name === 'retention.ms') config.retentionMs = n;
    else config.retentionBytes = n;
  }
  return config;
}

function createOne(ctx: BrokerContext, spec: CreateTopicSpec, validateOnly: boolean): TopicError {
  const fail = (errorCode: number, message: string): TopicError => ({ name: spec.name, errorCode, message });
  if (!isLegalTopicName(spec.name))
    return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `illegal topic name '${spec.name}'`);
  if (ctx.logs.get(spec.name))
    return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `topic '${spec.name}' already exists`);
  let count = spec.numPartitions;
  if (spec.assignments.length > 0) {
    if (count !== -1 || spec.replicationFactor !== -1) {
      return fail(
        ErrorCode.INVALID_REQUEST,
        'both num_partitions/replication_factor and replica_assignment given',
      );
    }
    if (spec.assignments.some((a) => a.replicas.some((id) => id !== ctx.nodeId))) {
      return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `the only broker is ${ctx.nodeId}`);
    }
    count = spec.assignments.length;
  } else if (count === -1) count = ctx.options.defaultPartitions;
  if (count < 1 || count > MAX_PARTITIONS) {
    return fail(
      ErrorCode.INVALID_PARTITIONS,
      `number of partitions must be 1..${MAX_PARTITIONS}, got ${count}`,
    );
  }
  if (spec.replicationFactor !== -1 && spec.replicationFactor !== 1) {
    return fail(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `replication factor ${spec.replicationFactor} larger than available brokers: 1`,
    );
  }
  const config = parseConfigs(spec);
  if (typeof config === 'string') return fail(ErrorCode.INVALID_CONFIG, config);
  if (!validateOnly) ctx.logs.create(spec.name, count, config);
  return { name: spec.name, errorCode: ErrorCode.NONE, message: null };
}

export function handleCreateTopics(
  ctx: BrokerContext,
  _conn: Connection,
  r: Reader,
  w: Writer,
): HandlerResult {
  const req = decodeCreateTopicsRequest(r);
  const counts = new Map<string, number>();
  for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  encodeCreateTopicsResponse(
    w,
    req.topics.map((spec) =>
      (counts.get(spec.name) ?? 0) > 1
        ? { name: spec.name, errorCode: ErrorCode.INVALID_REQUEST, message: 'topic named more than once' }
        : createOne(ctx, spec, req.validateOnly),
    ),
  );
}

export function handleDeleteTopics(
  ctx: BrokerContext,
  _conn: Connection,
  r: Reader,
  w: Writer,
): HandlerResult {
  const req = decodeDeleteTopicsRequest(r);
  encodeDeleteTopicsResponse(
    w,
    req.topics.map((name) => {
      if (!ctx.logs.delete(name)) return { name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      ctx.offsets.deleteTopic(name);
      return { name, errorCode: ErrorCode.NONE };
    }),
  );
}

export function handleFindCoordinator(
  ctx: BrokerContext,
  _conn: Connection,
  r: Reader,
  w: Writer,
): HandlerResult {
  decodeFindCoordinatorRequest(r);
  encodeFindCoordinatorResponse(w, {
    errorCode: ErrorCode.NONE,
    message: null,
    nodeId: ctx.nodeId,
    host: ctx.host,
    port: ctx.port,
  });
}

/**
 * Idempotent producers get a fresh producer id (sequence numbers are accepted, not deduplicated:
 * with one node and no leader changes kafkajs never needs to retry into a duplicate). Transactional
 * ids are refused with INVALID_REQUEST, a non-retriable error, so kafkajs fails fast and clearly.
 */
export function handleInitProducerId(
  ctx: BrokerContext,
  conn: Connection,
  r: Reader,
  w: Writer,
): HandlerResult {
  const req = decodeInitProducerIdRequest(r);
  if (req.transactionalId !== null) {
    ctx.logger.warn(
      { clientId: conn.clientId, transactionalId: req.transactionalId },
      'transactions are not supported by the dev broker',
    );
    encodeInitProducerIdResponse(w, {
      errorCode: ErrorCode.INVALID_REQUEST,
      producerId: -1,
      producerEpoch: -1,
    });
    return;
  }
  encodeInitProducerIdResponse(w, {
    errorCode: ErrorCode.NONE,
    producerId: ctx.nextProducerId++,
    producerEpoch: 0,
  });
}
