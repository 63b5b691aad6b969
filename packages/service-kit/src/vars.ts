// The variables both services read, defined once: Kafka brokers, topic names, session timeout, log level.
import { DEFAULT_TOPICS } from '@taskwire/contracts';
import { splitList } from './env.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const PORT = '([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';
/** `host:port`, or `[ipv6]:port` (the only unambiguous way to write an IPv6 address with a port). */
const HOST_PORT = `(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):${PORT}`;

const topic = (name: string) =>
  ({
    type: 'string',
    pattern: '^[A-Za-z0-9._-]{1,249}$',
    default: name,
    description: `a Kafka topic name (default ${name})`,
  }) as const;

/** Session timeouts accepted by both services (Kafka brokers allow 6 s to 30 min by default). */
export const SESSION_TIMEOUT_RANGE = { min: 1000, max: 1_800_000 } as const;

/** KAFKA_SESSION_TIMEOUT_MS with the shared range and a service's own default. */
export const sessionTimeoutVar = <D extends number>(dflt: D) =>
  ({
    type: 'integer',
    minimum: SESSION_TIMEOUT_RANGE.min,
    maximum: SESSION_TIMEOUT_RANGE.max,
    default: dflt,
    description: `milliseconds from ${SESSION_TIMEOUT_RANGE.min} to ${SESSION_TIMEOUT_RANGE.max} (default ${dflt})`,
  }) as const;

/** Schema properties both services spell the same way; each config.ts names the ones it reads. */
export const SHARED_VARS = {
  KAFKA_BROKERS: {
    type: 'string',
    pattern: `^${HOST_PORT}(\\s*,\\s*${HOST_PORT})*$`,
    default: '127.0.0.1:9092',
    description: 'a comma-separated list of host:port or [ipv6]:port (default 127.0.0.1:9092)',
  },
  TASK_DISPATCH_TOPIC: topic(DEFAULT_TOPICS.dispatch),
  RESULT_TOPIC: topic(DEFAULT_TOPICS.results),
  TASK_CONTROL_TOPIC: topic(DEFAULT_TOPICS.control),
  WORKER_HEARTBEAT_TOPIC: topic(DEFAULT_TOPICS.heartbeats),
  TASK_SCHEMA_TOPIC: topic(DEFAULT_TOPICS.schemas),
  LOG_LEVEL: {
    type: 'string',
    enum: [...LOG_LEVELS],
    default: 'info',
    description: `one of ${LOG_LEVELS.join(', ')} (default info)`,
  },
} as const;

/** KAFKA_BROKERS (checked) as a list: `a:1, b:2` → ['a:1', 'b:2']; `[::1]:9092` stays as written. */
export const parseBrokers = (value: string): string[] => splitList(value);
