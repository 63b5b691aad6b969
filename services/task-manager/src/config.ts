// Environment -> validated, frozen Config: every variable, its default and what it accepts, in one JSON Schema.
import { DEFAULT_GROUPS } from '@taskwire/contracts';
import { deepFreeze, parseBrokers, readEnv, sessionTimeoutVar, SHARED_VARS } from '@taskwire/service-kit';
import type { LogLevel } from '@taskwire/service-kit';
import { parseApiTokens } from './http/auth-tokens.js';
import type { ApiToken } from './http/auth-tokens.js';
import { DEFAULT_SCHEMA_LIMITS } from '@taskwire/json-schema';
import type { SchemaLimits } from '@taskwire/json-schema';

export { ConfigError } from '@taskwire/service-kit';

export interface Config {
  server: { host: string; port: number; addr: string };
  db: {
    type: 'sqlite' | 'mysql';
    dsn: string;
    /** MySQL pool connections. */
    poolSize: number;
    /** Operations that may wait for a MySQL connection or the SQLite lock; more get 503. */
    queueLimit: number;
  };
  logLevel: LogLevel;
  bodyLimitBytes: number;
  /** CREATE_COMMIT_INTERVAL_MS: least time between two group commits of POST /tasks (0: none). */
  createCommitIntervalMs: number;
  kafka: {
    enabled: boolean;
    brokers: string[];
    topics: { dispatch: string; results: string; control: string; heartbeats: string; schemas: string };
    resultGroupId: string;
    /** WORKER_GROUP_ID: the workers' consumer group, whose lag per queue partition GET /metrics shows. */
    workerGroupId: string;
    /** Partitions of the topics the manager creates at start-up. */
    partitions: number;
    /** Consumer group session timeout: how soon a crashed manager's partitions move to another. */
    sessionTimeoutMs: number;
    /** Largest message the relay sends, and the byte budget of one produce request. */
    maxMessageBytes: number;
    /** KAFKA_RELAY_LINGER_MS: after a publish, how long the relay waits for more rows before the next one. */
    relayLingerMs: number;
    /** KAFKA_RESULT_LINGER_MS: after applying results, how long the result consumer waits before fetching again. */
    resultLingerMs: number;
  };
  /** MAX_PARAMS_BYTES, MAX_RESULT_BYTES, MAX_ERROR_BYTES. */
  limits: { paramsBytes: number; resultBytes: number; errorBytes: number };
  workerDeadAfterMs: number;
  timeoutGraceMs: number;
  /** ADMISSION_SWEEP_MS: how often each manager admits WAITING tasks without a signal (slots freed on another replica). */
  admissionSweepMs: number;
  /** The live event stream (GET /events/stream): SSE_HEARTBEAT_MS, EVENTS_POLL_MS, EVENTS_GAP_GRACE_MS, EVENTS_SUBSCRIBER_BUFFER. */
  events: { heartbeatMs: number; pollMs: number; gapGraceMs: number; bufferLimit: number };
  schedulerEnabled: boolean;
  /** Task retention: RETENTION_DAYS (0: keep), RETENTION_INTERVAL_MS, RETENTION_BATCH. */
  retention: { days: number; intervalMs: number; batch: number };
  auth: {
    /** From API_TOKENS; those of API_TOKENS_FILE are read at start-up (startManager). */
    tokens: readonly ApiToken[];
    tokensFile: string | null;
    /** AUTH_DISABLED: allows serving beyond loopback without tokens. */
    disabled: boolean;
  };
  /** SCHEMA_MAX_BYTES/DEPTH/NODES: what a template's param_schema or result_schema may be. */
  schemaLimits: SchemaLimits;
}

export const DEFAULT_SQLITE_DSN = './.data/taskwire.db';

/**
 * While group commits of POST /tasks hold several requests (requests are arriving faster than
 * they commit), the next starts no sooner than this many ms after the last, so the requests of a
 * steady stream share transactions instead of each paying for one, for at most this much more
 * latency. A request after a quiet spell, or from a client sending one at a time, is committed at
 * once. 1 ms would rarely bind at 1,000 POST/s (commits are already ~1.5 ms apart).
 */
export const DEFAULT_CREATE_COMMIT_INTERVAL_MS = 2;

const FLAG = { type: 'string', enum: ['0', '1', 'true', 'false'] } as const;

/**
 * Every variable the manager reads. `description` is what the error line says the variable accepts.
 * Values are strings (the environment); integers are coerced by ajv.
 */
export const CONFIG_SCHEMA = {
  type: 'object',
  properties: {
    SERVER_ADDR: {
      type: 'string',
      pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]*):[0-9]{1,5}$',
      // Loopback by default: without tokens the API must not be reachable from other machines.
      default: '127.0.0.1:8080',
      description: '":port" or "host:port" with a port 0-65535 (default "127.0.0.1:8080")',
    },
    DB_TYPE: {
      type: 'string',
      enum: ['sqlite', 'mysql'],
      default: 'sqlite',
      description: '"sqlite" or "mysql"',
    },
    DB_DSN: {
      type: 'string',
      minLength: 1,
      description: `a SQLite file path (default ${DEFAULT_SQLITE_DSN}) or, with DB_TYPE=mysql, mysql://user:pass@host:port/db`,
    },
    DB_POOL_SIZE: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 10,
      description: 'an integer from 1 to 1000: MySQL connections in the pool (default 10)',
    },
    DB_QUEUE_LIMIT: {
      type: 'integer',
      minimum: 1,
      maximum: 1_000_000,
      default: 1000,
      description:
        'an integer from 1 to 1000000: operations that may wait for a MySQL connection or the SQLite lock; more get 503 (default 1000)',
    },
    LOG_LEVEL: SHARED_VARS.LOG_LEVEL,
    BODY_LIMIT_BYTES: {
      type: 'integer',
      minimum: 1024,
      maximum: 104_857_600,
      default: 1_048_576,
      description: 'an integer number of bytes from 1024 to 104857600 (default 1048576)',
    },
    CREATE_COMMIT_INTERVAL_MS: {
      type: 'integer',
      minimum: 0,
      maximum: 100,
      default: DEFAULT_CREATE_COMMIT_INTERVAL_MS,
      description: `milliseconds from 0 to 100 between two group commits of POST /tasks; 0 commits each request as it arrives (default ${DEFAULT_CREATE_COMMIT_INTERVAL_MS})`,
    },
    KAFKA_ENABLED: {
      ...FLAG,
      default: '1',
      description: '1 or 0 (true/false); 0 runs the API without Kafka',
    },
    KAFKA_BROKERS: SHARED_VARS.KAFKA_BROKERS,
    TASK_DISPATCH_TOPIC: SHARED_VARS.TASK_DISPATCH_TOPIC,
    RESULT_TOPIC: SHARED_VARS.RESULT_TOPIC,
    TASK_CONTROL_TOPIC: SHARED_VARS.TASK_CONTROL_TOPIC,
    WORKER_HEARTBEAT_TOPIC: SHARED_VARS.WORKER_HEARTBEAT_TOPIC,
    TASK_SCHEMA_TOPIC: SHARED_VARS.TASK_SCHEMA_TOPIC,
    RESULT_GROUP_ID: {
      type: 'string',
      pattern: '^\\S{1,255}$',
      default: DEFAULT_GROUPS.results,
      description: 'a Kafka consumer group id (1-255 characters, no spaces)',
    },
    WORKER_GROUP_ID: {
      type: 'string',
      pattern: '^\\S{1,255}$',
      default: DEFAULT_GROUPS.workers,
      description: "the workers' consumer group id (their GROUP_ID), for the consumer lag metric",
    },
    KAFKA_TOPIC_PARTITIONS: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 12,
      description: 'an integer from 1 to 1000: partitions of the topics the manager creates (default 12)',
    },
    KAFKA_SESSION_TIMEOUT_MS: sessionTimeoutVar(30_000),
    KAFKA_MAX_MESSAGE_BYTES: {
      type: 'integer',
      minimum: 1024,
      maximum: 104_857_600,
      default: 921_600,
      description:
        "bytes from 1024 to 104857600: largest Kafka message and produce request the manager sends, below the broker's message.max.bytes (default 921600)",
    },
    KAFKA_RELAY_LINGER_MS: {
      type: 'integer',
      minimum: 0,
      maximum: 1000,
      default: 2,
      description:
        'milliseconds from 0 to 1000: after a publish, how long the outbox relay waits so that rows written meanwhile go out in one request (default 2)',
    },
    KAFKA_RESULT_LINGER_MS: {
      type: 'integer',
      minimum: 0,
      maximum: 1000,
      default: 2,
      description:
        'milliseconds from 0 to 1000: after applying results, how long the result consumer waits so that the next fetch brings more (default 2)',
    },
    MAX_PARAMS_BYTES: {
      type: 'integer',
      minimum: 1024,
      maximum: 104_857_600,
      default: 262_144,
      description:
        'bytes from 1024 to 104857600: largest task params as JSON; more gets 413 (default 262144)',
    },
    MAX_RESULT_BYTES: {
      type: 'integer',
      minimum: 1024,
      maximum: 104_857_600,
      default: 262_144,
      description: 'bytes from 1024 to 104857600: largest task result as JSON (default 262144)',
    },
    MAX_ERROR_BYTES: {
      type: 'integer',
      minimum: 1024,
      maximum: 104_857_600,
      default: 65_536,
      description: 'bytes from 1024 to 104857600: largest task error as JSON (default 65536)',
    },
    SSE_HEARTBEAT_MS: {
      type: 'integer',
      minimum: 10,
      maximum: 300_000,
      default: 15_000,
      description:
        'milliseconds from 10 to 300000 between `: keep-alive` comments on event streams (default 15000)',
    },
    EVENTS_POLL_MS: {
      type: 'integer',
      minimum: 10,
      maximum: 60_000,
      default: 200,
      description: 'milliseconds from 10 to 60000 between reads of new events (other replicas) (default 200)',
    },
    EVENTS_GAP_GRACE_MS: {
      type: 'integer',
      minimum: 0,
      maximum: 60_000,
      default: 3_000,
      description: 'milliseconds from 0 to 60000 a missing event id holds back later ones (default 3000)',
    },
    EVENTS_SUBSCRIBER_BUFFER: {
      type: 'integer',
      minimum: 1,
      maximum: 1_000_000,
      default: 1_000,
      description:
        'events from 1 to 1000000 a stream subscriber may lag before it is disconnected (default 1000)',
    },
    WORKER_DEAD_AFTER_MS: {
      type: 'integer',
      minimum: 1000,
      maximum: 3_600_000,
      default: 15_000,
      description: 'milliseconds from 1000 to 3600000 (default 15000)',
    },
    TIMEOUT_GRACE_MS: {
      type: 'integer',
      minimum: 0,
      maximum: 3_600_000,
      default: 30_000,
      description: 'milliseconds from 0 to 3600000 (default 30000)',
    },
    ADMISSION_SWEEP_MS: {
      type: 'integer',
      minimum: 50,
      maximum: 60_000,
      default: 1_000,
      description: 'milliseconds from 50 to 60000 (default 1000)',
    },
    SCHEDULER_ENABLED: {
      ...FLAG,
      default: '1',
      description: '1 or 0 (true/false); 0 turns cron and due sweeps off',
    },
    RETENTION_DAYS: {
      type: 'integer',
      minimum: 0,
      maximum: 36_500,
      default: 30,
      description:
        "days from 0 to 36500 finished tasks (and their events) and dead letters are kept; 0 keeps them forever; a template's retention_days overrides it for its tasks (default 30)",
    },
    RETENTION_INTERVAL_MS: {
      type: 'integer',
      minimum: 1_000,
      maximum: 86_400_000,
      default: 60_000,
      description: 'milliseconds from 1000 to 86400000 between retention purge passes (default 60000)',
    },
    RETENTION_BATCH: {
      type: 'integer',
      minimum: 1,
      maximum: 100_000,
      default: 100,
      description: 'rows from 1 to 100000 the retention purge deletes per transaction (default 100)',
    },
    // No pattern: entries are checked one by one (by position, never quoting a token); secret: the
    // env loader never prints the value either.
    API_TOKENS: {
      type: 'string',
      secret: true,
      description:
        'comma-separated <scope>:<token> entries (scope read, write or admin; tokens of 16+ characters)',
    },
    API_TOKENS_FILE: {
      type: 'string',
      description: 'a file of <scope>:<token> entries, one or more per line (comma-separated), # comments',
    },
    AUTH_DISABLED: {
      ...FLAG,
      default: '0',
      description: '1 or 0 (true/false); 1 serves beyond loopback without tokens (no authentication)',
    },
    SCHEMA_MAX_BYTES: {
      type: 'integer',
      minimum: 256,
      maximum: 16_777_216,
      default: DEFAULT_SCHEMA_LIMITS.maxBytes,
      description: `bytes from 256 to 16777216: largest param_schema/result_schema as compact JSON (default ${DEFAULT_SCHEMA_LIMITS.maxBytes})`,
    },
    SCHEMA_MAX_DEPTH: {
      type: 'integer',
      minimum: 2,
      maximum: 1000,
      default: DEFAULT_SCHEMA_LIMITS.maxDepth,
      description: `an integer from 2 to 1000: deepest nesting of a schema's objects/arrays (default ${DEFAULT_SCHEMA_LIMITS.maxDepth})`,
    },
    SCHEMA_MAX_NODES: {
      type: 'integer',
      minimum: 10,
      maximum: 1_000_000,
      default: DEFAULT_SCHEMA_LIMITS.maxNodes,
      description: `an integer from 10 to 1000000: most JSON values in one schema (default ${DEFAULT_SCHEMA_LIMITS.maxNodes})`,
    },
  },
} as const;

function flag(v: unknown): boolean {
  return v === '1' || v === 'true';
}

/**
 * Reads the manager's variables from `env` (pure: no other input, no side effects). Empty values
 * count as unset. Throws ConfigError listing every bad variable, one line each.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const check = readEnv(CONFIG_SCHEMA, env);
  const v = check.values;

  const addr = String(v.SERVER_ADDR);
  const colon = addr.lastIndexOf(':');
  const port = Number(addr.slice(colon + 1));
  if (!check.failed('SERVER_ADDR') && !(port >= 0 && port <= 65_535))
    check.invalid('SERVER_ADDR', ' (port out of range)');
  let host = addr.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);

  const dbType = v.DB_TYPE === 'mysql' ? 'mysql' : 'sqlite';
  let dsn = typeof v.DB_DSN === 'string' ? v.DB_DSN : undefined;
  if (dbType === 'mysql' && !check.failed('DB_TYPE')) {
    if (dsn === undefined)
      check.problem(
        'DB_DSN',
        'DB_DSN is required with DB_TYPE=mysql: expected mysql://user:pass@host:port/db',
      );
    else if (!/^mysql:\/\/[^/]+\/[^/?]+/.test(dsn))
      check.invalid('DB_DSN', ' (DB_TYPE=mysql needs mysql://user:pass@host:port/db)');
  }
  dsn ??= DEFAULT_SQLITE_DSN;

  // The relay, the lag gauge and the DLQ indexer take TASK_DISPATCH_TOPIC and every `<it>.<queue>` for
  // dispatch topics: another topic of the stack under that name would be read as a queue's.
  const dispatchTopic = String(v.TASK_DISPATCH_TOPIC);
  for (const name of [
    'RESULT_TOPIC',
    'TASK_CONTROL_TOPIC',
    'WORKER_HEARTBEAT_TOPIC',
    'TASK_SCHEMA_TOPIC',
  ] as const) {
    const topic = String(v[name]);
    if (!check.failed(name) && (topic === dispatchTopic || topic.startsWith(`${dispatchTopic}.`)))
      check.problem(
        name,
        `${name}=${JSON.stringify(topic)} is TASK_DISPATCH_TOPIC or a queue's dispatch topic under it ` +
          `(${dispatchTopic}.<queue>): choose a name outside ${JSON.stringify(`${dispatchTopic}.`)}`,
      );
  }

  const apiTokens = parseApiTokens(
    typeof v.API_TOKENS === 'string' ? v.API_TOKENS : '',
    (at) => `API_TOKENS entry ${at.entry}`,
  );
  apiTokens.problems.forEach((line, i) => check.problem(`API_TOKENS ${i}`, line));

  check.done();
  const config: Config = {
    server: { host, port, addr },
    db: { type: dbType, dsn, poolSize: Number(v.DB_POOL_SIZE), queueLimit: Number(v.DB_QUEUE_LIMIT) },
    logLevel: v.LOG_LEVEL as LogLevel,
    bodyLimitBytes: Number(v.BODY_LIMIT_BYTES),
    createCommitIntervalMs: Number(v.CREATE_COMMIT_INTERVAL_MS),
    kafka: {
      enabled: flag(v.KAFKA_ENABLED),
      brokers: parseBrokers(v.KAFKA_BROKERS),
      topics: {
        dispatch: String(v.TASK_DISPATCH_TOPIC),
        results: String(v.RESULT_TOPIC),
        control: String(v.TASK_CONTROL_TOPIC),
        heartbeats: String(v.WORKER_HEARTBEAT_TOPIC),
        schemas: String(v.TASK_SCHEMA_TOPIC),
      },
      resultGroupId: String(v.RESULT_GROUP_ID),
      workerGroupId: String(v.WORKER_GROUP_ID),
      partitions: Number(v.KAFKA_TOPIC_PARTITIONS),
      sessionTimeoutMs: Number(v.KAFKA_SESSION_TIMEOUT_MS),
      maxMessageBytes: Number(v.KAFKA_MAX_MESSAGE_BYTES),
      relayLingerMs: Number(v.KAFKA_RELAY_LINGER_MS),
      resultLingerMs: Number(v.KAFKA_RESULT_LINGER_MS),
    },
    limits: {
      paramsBytes: Number(v.MAX_PARAMS_BYTES),
      resultBytes: Number(v.MAX_RESULT_BYTES),
      errorBytes: Number(v.MAX_ERROR_BYTES),
    },
    workerDeadAfterMs: Number(v.WORKER_DEAD_AFTER_MS),
    timeoutGraceMs: Number(v.TIMEOUT_GRACE_MS),
    admissionSweepMs: Number(v.ADMISSION_SWEEP_MS),
    events: {
      heartbeatMs: Number(v.SSE_HEARTBEAT_MS),
      pollMs: Number(v.EVENTS_POLL_MS),
      gapGraceMs: Number(v.EVENTS_GAP_GRACE_MS),
      bufferLimit: Number(v.EVENTS_SUBSCRIBER_BUFFER),
    },
    schedulerEnabled: flag(v.SCHEDULER_ENABLED),
    retention: {
      days: Number(v.RETENTION_DAYS),
      intervalMs: Number(v.RETENTION_INTERVAL_MS),
      batch: Number(v.RETENTION_BATCH),
    },
    auth: {
      tokens: apiTokens.tokens,
      tokensFile: typeof v.API_TOKENS_FILE === 'string' ? v.API_TOKENS_FILE : null,
      disabled: flag(v.AUTH_DISABLED),
    },
    schemaLimits: {
      maxBytes: Number(v.SCHEMA_MAX_BYTES),
      maxDepth: Number(v.SCHEMA_MAX_DEPTH),
      maxNodes: Number(v.SCHEMA_MAX_NODES),
    },
  };
  return deepFreeze(config);
}
