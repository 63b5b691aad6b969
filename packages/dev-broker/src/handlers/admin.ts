// Owns the cluster/admin handlers: ApiVersions, Metadata, Create/DeleteTopics, CreatePartitions, DeleteRecords, DescribeConfigs, FindCoordinator, InitProducerId.
import { isLegalTopicName } from '../log/log-manager.js';
import type { Topic, TopicConfig } from '../log/log-manager.js';
import { SUPPORTED_VERSIONS } from '../protocol/api-keys.js';
import { encodeApiVersionsResponse } from '../protocol/api-versions/v2.js';
import { decodeApiVersionsRequestV3, encodeApiVersionsResponseV3 } from '../protocol/api-versions/v3.js';
import { decodeCreateTopicsRequest, encodeCreateTopicsResponse } from '../protocol/create-topics/v3.js';
import type { CreateTopicSpec, TopicError } from '../protocol/create-topics/v3.js';
import {
  decodeCreatePartitionsRequest,
  encodeCreatePartitionsResponse,
} from '../protocol/create-partitions/v1.js';
import type { CreatePartitionsResult } from '../protocol/create-partitions/v1.js';
import { decodeDeleteRecordsRequest, encodeDeleteRecordsResponse } from '../protocol/delete-records/v1.js';
import { decodeDeleteTopicsRequest, encodeDeleteTopicsResponse } from '../protocol/delete-topics/v1.js';
import {
  ConfigSource,
  ResourceType,
  decodeDescribeConfigsRequest,
  encodeDescribeConfigsResponse,
} from '../protocol/describe-configs/v2.js';
import type { ConfigEntry, DescribeConfigsResult } from '../protocol/describe-configs/v2.js';
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
import type { BrokerContext, Connection, Handler, HandlerResult } from './context.js';
import { topicOrCreate } from './records.js';

/** Kafka's own limit would be far higher; this one keeps a typo from allocating a million logs. */
const MAX_PARTITIONS = 10_000;

export const handleApiVersions: Handler = (_ctx, _conn, r, w, version) => {
  const apiVersions = [...SUPPORTED_VERSIONS].map(([key, [min, max]]) => [key, min, max] as const);
  if (version === 3) {
    decodeApiVersionsRequestV3(r);
    return encodeApiVersionsResponseV3(w, { errorCode: ErrorCode.NONE, apiVersions });
  }
  const supported = version >= 0 && version <= 2;
  encodeApiVersionsResponse(w, supported ? version : 0, {
    errorCode: supported ? ErrorCode.NONE : ErrorCode.UNSUPPORTED_VERSION,
    apiVersions,
  });
};

function topicMetadata(ctx: BrokerContext, t: Topic): MetadataResponse['topics'][number] {
  return {
    errorCode: ErrorCode.NONE,
    name: t.name,
    partitions: t.partitions.map((p) => ({ partition: p.partition, leader: ctx.nodeId })),
  };
}

export const handleMetadata: Handler = (ctx, _conn, r, w, version) => {
  const req = decodeMetadataRequest(r, version);
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
  encodeMetadataResponse(
    w,
    {
      brokers: [{ nodeId: ctx.nodeId, host: ctx.host, port: ctx.port }],
      clusterId: 'taskwire-dev-broker',
      controllerId: ctx.nodeId,
      topics,
    },
    version,
  );
};

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

export const handleCreateTopics: Handler = (ctx, _conn, r, w, version) => {
  const req = decodeCreateTopicsRequest(r, version);
  const counts = new Map<string, number>();
  for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  encodeCreateTopicsResponse(
    w,
    req.topics.map((spec) =>
      (counts.get(spec.name) ?? 0) > 1
        ? { name: spec.name, errorCode: ErrorCode.INVALID_REQUEST, message: 'topic named more than once' }
        : createOne(ctx, spec, req.validateOnly),
    ),
    version,
  );
};

export const handleDeleteTopics: Handler = (ctx, _conn, r, w, version) => {
  const req = decodeDeleteTopicsRequest(r);
  encodeDeleteTopicsResponse(
    w,
    req.topics.map((name) => {
      if (!ctx.logs.delete(name)) return { name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      ctx.offsets.deleteTopic(name);
      return { name, errorCode: ErrorCode.NONE };
    }),
    version,
  );
};

export const handleFindCoordinator: Handler = (ctx, _conn, r, w, version) => {
  decodeFindCoordinatorRequest(r, version);
  encodeFindCoordinatorResponse(
    w,
    {
      errorCode: ErrorCode.NONE,
      message: null,
      nodeId: ctx.nodeId,
      host: ctx.host,
      port: ctx.port,
    },
    version,
  );
};

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

export function handleCreatePartitions(
  ctx: BrokerContext,
  _conn: Connection,
  r: Reader,
  w: Writer,
): HandlerResult {
  const req = decodeCreatePartitionsRequest(r);
  encodeCreatePartitionsResponse(
    w,
    req.topics.map(({ name, count, assignments }): CreatePartitionsResult => {
      const fail = (errorCode: number, message: string): CreatePartitionsResult => ({
        name,
        errorCode,
        message,
      });
      const topic = ctx.logs.get(name);
      if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${name}' does not exist`);
      const have = topic.partitions.length;
      if (count <= have) {
        return fail(ErrorCode.INVALID_PARTITIONS, `topic has ${have} partitions, asked for ${count}`);
      }
      if (count > MAX_PARTITIONS) return fail(ErrorCode.INVALID_PARTITIONS, `at most ${MAX_PARTITIONS}`);
      if (assignments && assignments.some((a) => a.some((id) => id !== ctx.nodeId))) {
        return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `the only broker is ${ctx.nodeId}`);
      }
      if (!req.validateOnly) ctx.logs.addPartitions(name, count);
      return { name, errorCode: ErrorCode.NONE, message: null };
    }),
  );
}

export function handleDeleteRecords(
  ctx: BrokerContext,
  _conn: Connection,
  r: Reader,
  w: Writer,
): HandlerResult {
  const req = decodeDeleteRecordsRequest(r);
  encodeDeleteRecordsResponse(w, {
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map(({ partition, offset }) => {
        const log = ctx.logs.partition(t.name, partition);
        if (!log) return { partition, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        const lowWatermark = log.deleteRecordsBefore(offset);
        if (lowWatermark === -1) return { partition, lowWatermark, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
        return { partition, lowWatermark, errorCode: ErrorCode.NONE };
      }),
    })),
  });
}

/** The configs this broker honours, per topic (overrides first) or for the broker itself. */
function configEntries(ctx: BrokerContext, topic: Topic | null): ConfigEntry[] {
  const o = ctx.options;
  const entry = (name: string, value: string, override?: number): ConfigEntry => {
    const source = topic
      ? override !== undefined
        ? ConfigSource.TOPIC
        : ConfigSource.DEFAULT
      : ConfigSource.STATIC_BROKER;
    return {
      name,
      value: override !== undefined ? String(override) : value,
      readOnly: !topic,
      source,
      synonyms: [],
    };
  };
  return [
    entry('retention.ms', String(o.retentionMs), topic?.config.retentionMs),
    entry('retention.bytes', String(o.retentionBytes), topic?.config.retentionBytes),
    entry('segment.bytes', String(o.segmentBytes)),
    entry('max.message.bytes', String(o.maxBatchBytes)),
    entry('cleanup.policy', 'delete'),
    entry('compression.type', 'producer'),
    entry('min.insync.replicas', '1'),
  ];
}

/**
 * DescribeConfigs of a topic (kafka-topics.sh --describe) or of broker 0. Only the configs this
 * broker acts on are listed; a topic's own overrides carry source TOPIC, the rest DEFAULT.
 */
export const handleDescribeConfigs: Handler = (ctx, _conn, r, w, version) => {
  const req = decodeDescribeConfigsRequest(r, version);
  encodeDescribeConfigsResponse(
    w,
    req.resources.map(({ type, name, keys }): DescribeConfigsResult => {
      const fail = (errorCode: number, message: string): DescribeConfigsResult => ({
        errorCode,
        message,
        type,
        name,
        configs: [],
      });
      let configs: ConfigEntry[];
      if (type === ResourceType.TOPIC) {
        const topic = ctx.logs.get(name);
        if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${name}' does not exist`);
        configs = configEntries(ctx, topic);
      } else if (type === ResourceType.BROKER) {
        if (name !== '' && name !== String(ctx.nodeId)) {
          return fail(ErrorCode.INVALID_REQUEST, `the only broker is ${ctx.nodeId}`);
        }
        configs = configEntries(ctx, null);
      } else {
        return fail(ErrorCode.INVALID_REQUEST, `unsupported resource type ${type}`);
      }
      if (keys) configs = configs.filter((c) => keys.includes(c.name));
      return { errorCode: ErrorCode.NONE, message: null, type, name, configs };
    }),
    version,
  );
};
