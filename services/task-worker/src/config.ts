// Worker configuration: every env var, its default and what it accepts, checked at once by ajv.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { DEFAULT_GROUPS, DEFAULT_QUEUE, NAME_PATTERN } from '@taskwire/contracts';
import { parseBrokers, readEnv, sessionTimeoutVar, SHARED_VARS, splitList } from '@taskwire/service-kit';
import type { LogLevel } from '@taskwire/service-kit';
import { DEFAULT_SCHEMA_LIMITS } from '@taskwire/json-schema';
import type { SchemaLimits } from '@taskwire/json-schema';

export { ConfigError } from '@taskwire/service-kit';
export type { LogLevel } from '@taskwire/service-kit';

export interface Config {
  kafkaBrokers: string[];
  dispatchTopic: string;
  resultTopic: string;
  controlTopic: string;
  heartbeatTopic: string;
  /** TASK_SCHEMA_TOPIC: the compacted topic of the param_schemas dispatches name by hash. */
  schemaTopic: string;
  /** SCHEMA_WAIT_MS: how long a dispatch waits for the schema it names before failing retryably. */
  schemaWaitMs: number;
  groupId: string;
  workerId: string;
  queues: string[];
  concurrency: number;
  /** Plugin module specifiers or paths (paths resolve against the working directory). */
  executors: string[];
  allowShell: boolean;
  /** HTTP_EXECUTOR_ALLOW_HOSTS: hostnames, IPs and CIDRs the http executor may reach although private. */
  httpAllowHosts: string[];
  /** WORKER_SHELL_PROGRAMS: program names or absolute paths the shell executor may run. */
  shellPrograms: string[];
  /** WORKER_SHELL_ENV: environment keys a shell task may pass to its program. */
  shellEnv: string[];
  heartbeatIntervalMs: number;
  shutdownGraceMs: number;
  sessionTimeoutMs: number;
  /** Where GET /healthz and /readyz are served (HEALTH_ADDR); undefined = not served. */
  health?: { host: string; port: number };
  /** Where GET /metrics is served (METRICS_ADDR); undefined = no metrics at all. */
  metrics?: { host: string; port: number };
  /** KAFKA_MAX_MESSAGE_BYTES: largest message, and bytes per produce request, the worker sends. */
  maxMessageBytes: number;
  /** MAX_RESULT_BYTES: largest executor result sent; a larger one fails its task. */
  maxResultBytes: number;
  logLevel: LogLevel;
  /** SCHEMA_MAX_BYTES/DEPTH/NODES: the param_schema a dispatched task may carry (as the manager's). */
  schemaLimits: SchemaLimits;
}

/** The built-in plugin, and the opt-in shell plugin added when WORKER_ALLOW_SHELL=1 and EXECUTORS is unset. */
export const BUILTIN_PLUGIN = '@taskwire/executors';
export const SHELL_PLUGIN = '@taskwire/executors/shell';

const name = NAME_PATTERN.slice(1, -1); // the pattern without its anchors, to build list patterns
const HOST = '(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+)';
const PORT = '[0-9]{1,5}';
const list = (item: string): string => `^\\s*${item}(\\s*,\\s*${item})*\\s*$`;
/** Like list, but the empty string (the default: nothing allowed) is valid too. */
const optionalList = (item: string): string => `^(\\s*${item}(\\s*,\\s*${item})*\\s*)?$`;
const int = (min: number, max: number, dflt: number, description: string) =>
  ({ type: 'integer', minimum: min, maximum: max, default: dflt, description }) as const;

const schema = {
  type: 'object',
  properties: {
    KAFKA_BROKERS: SHARED_VARS.KAFKA_BROKERS,
    TASK_DISPATCH_TOPIC: SHARED_VARS.TASK_DISPATCH_TOPIC,
    RESULT_TOPIC: SHARED_VARS.RESULT_TOPIC,
    TASK_CONTROL_TOPIC: SHARED_VARS.TASK_CONTROL_TOPIC,
    WORKER_HEARTBEAT_TOPIC: SHARED_VARS.WORKER_HEARTBEAT_TOPIC,
    TASK_SCHEMA_TOPIC: SHARED_VARS.TASK_SCHEMA_TOPIC,
    SCHEMA_WAIT_MS: int(
      0,
      3_600_000,
      30_000,
      'an integer number of ms from 0 to 3600000 (how long a dispatch waits for the param_schema it names)',
    ),
    GROUP_ID: {
      type: 'string',
      pattern: '^\\S{1,255}$',
      default: DEFAULT_GROUPS.workers,
      description: 'a consumer group id without spaces',
    },
    WORKER_ID: {
      type: 'string',
      pattern: '^[A-Za-z0-9._:-]{1,200}$',
      description: 'up to 200 of A-Z a-z 0-9 . _ : -',
    },
    WORKER_QUEUES: {
      type: 'string',
      pattern: list(name),
      default: DEFAULT_QUEUE,
      description: `a comma-separated list of queue names matching ${NAME_PATTERN}`,
    },
    WORKER_CONCURRENCY: int(1, 1024, 16, 'an integer from 1 to 1024'),
    EXECUTORS: {
      type: 'string',
      pattern: list('[^\\s,]+'),
      description: 'a comma-separated list of plugin module names or paths',
    },
    WORKER_ALLOW_SHELL: { enum: ['0', '1', 'true', 'false'], default: '0', description: '0 or 1' },
    HTTP_EXECUTOR_ALLOW_HOSTS: {
      type: 'string',
      pattern: optionalList('[A-Za-z0-9._:%/\\[\\]-]+'),
      default: '',
      description: 'a comma-separated list of hostnames, IP addresses and CIDRs (e.g. 127.0.0.1,10.0.0.0/8)',
    },
    WORKER_SHELL_PROGRAMS: {
      type: 'string',
      pattern: optionalList('[^\\s,]+'),
      default: '',
      description: 'a comma-separated list of program names or absolute paths',
    },
    WORKER_SHELL_ENV: {
      type: 'string',
      pattern: optionalList('[A-Za-z_][A-Za-z0-9_]*'),
      default: '',
      description: 'a comma-separated list of environment variable names',
    },
    HEARTBEAT_INTERVAL_MS: int(100, 600_000, 5000, 'an integer number of ms from 100 to 600000'),
    SHUTDOWN_GRACE_MS: int(0, 3_600_000, 30_000, 'an integer number of ms from 0 to 3600000'),
    // 10 s: a killed worker's partitions move in ~11 s (30 s took ~32 s); README "Scaling workers".
    KAFKA_SESSION_TIMEOUT_MS: sessionTimeoutVar(10_000),
    HEALTH_ADDR: {
      type: 'string',
      pattern: `^${HOST}:${PORT}$`,
      description: 'host:port (or [ipv6]:port) to serve GET /healthz and /readyz on; unset = off',
    },
    METRICS_ADDR: {
      type: 'string',
      pattern: `^${HOST}:${PORT}$`,
      description: 'host:port (or [ipv6]:port) to serve GET /metrics (Prometheus) on; unset = off',
    },
    KAFKA_MAX_MESSAGE_BYTES: int(
      1024,
      104_857_600,
      921_600,
      "an integer number of bytes from 1024 to 104857600, below the broker's message.max.bytes",
    ),
    MAX_RESULT_BYTES: int(1024, 104_857_600, 262_144, 'an integer number of bytes from 1024 to 104857600'),
    LOG_LEVEL: SHARED_VARS.LOG_LEVEL,
    SCHEMA_MAX_BYTES: int(
      256,
      16_777_216,
      DEFAULT_SCHEMA_LIMITS.maxBytes,
      'an integer number of bytes from 256 to 16777216 (a param_schema as compact JSON)',
    ),
    SCHEMA_MAX_DEPTH: int(
      2,
      1000,
      DEFAULT_SCHEMA_LIMITS.maxDepth,
      'an integer from 2 to 1000 (schema nesting)',
    ),
    SCHEMA_MAX_NODES: int(
      10,
      1_000_000,
      DEFAULT_SCHEMA_LIMITS.maxNodes,
      'an integer from 10 to 1000000 (JSON values in a schema)',
    ),
  },
} as const;

export interface ConfigDefaults {
  hostname?: string;
  pid?: number;
}

/**
 * Reads the worker's configuration from `env` (pure: pass process.env or a test object). Empty
 * variables count as unset. Throws ConfigError naming every bad variable at once.
 */
export function loadConfig(env: Record<string, string | undefined>, defaults: ConfigDefaults = {}): Config {
  const check = readEnv(schema, env);
  const r = check.values;
  const address = (name: 'HEALTH_ADDR' | 'METRICS_ADDR'): { host: string; port: number } | undefined => {
    const value = r[name];
    if (value === undefined || check.failed(name)) return undefined;
    const colon = value.lastIndexOf(':');
    const port = Number(value.slice(colon + 1));
    if (port > 65_535) check.invalid(name, ' (port out of range)');
    return { host: value.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port };
  };
  const health = address('HEALTH_ADDR');
  const metrics = address('METRICS_ADDR');
  check.done();
  const allowShell = r.WORKER_ALLOW_SHELL === '1' || r.WORKER_ALLOW_SHELL === 'true';
  const host = (defaults.hostname ?? hostname()).replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 120);
  const workerId = r.WORKER_ID ?? `${host}-${defaults.pid ?? process.pid}-${randomBytes(3).toString('hex')}`;
  const executors =
    r.EXECUTORS !== undefined
      ? splitList(r.EXECUTORS)
      : allowShell
        ? [BUILTIN_PLUGIN, SHELL_PLUGIN]
        : [BUILTIN_PLUGIN];
  return Object.freeze({
    kafkaBrokers: parseBrokers(r.KAFKA_BROKERS),
    dispatchTopic: r.TASK_DISPATCH_TOPIC,
    resultTopic: r.RESULT_TOPIC,
    controlTopic: r.TASK_CONTROL_TOPIC,
    heartbeatTopic: r.WORKER_HEARTBEAT_TOPIC,
    schemaTopic: r.TASK_SCHEMA_TOPIC,
    schemaWaitMs: r.SCHEMA_WAIT_MS,
    groupId: r.GROUP_ID,
    workerId,
    queues: [...new Set(splitList(r.WORKER_QUEUES))],
    concurrency: r.WORKER_CONCURRENCY,
    executors,
    allowShell,
    httpAllowHosts: splitList(r.HTTP_EXECUTOR_ALLOW_HOSTS),
    shellPrograms: [...new Set(splitList(r.WORKER_SHELL_PROGRAMS))],
    shellEnv: [...new Set(splitList(r.WORKER_SHELL_ENV))],
    heartbeatIntervalMs: r.HEARTBEAT_INTERVAL_MS,
    shutdownGraceMs: r.SHUTDOWN_GRACE_MS,
    sessionTimeoutMs: r.KAFKA_SESSION_TIMEOUT_MS,
    health,
    metrics,
    maxMessageBytes: r.KAFKA_MAX_MESSAGE_BYTES,
    maxResultBytes: r.MAX_RESULT_BYTES,
    logLevel: r.LOG_LEVEL as LogLevel,
    schemaLimits: Object.freeze({
      maxBytes: r.SCHEMA_MAX_BYTES,
      maxDepth: r.SCHEMA_MAX_DEPTH,
      maxNodes: r.SCHEMA_MAX_NODES,
    }),
  });
}
