// Environment -> validated, frozen Config: every variable, its default and what it accepts, in one JSON Schema.
import { Ajv } from 'ajv';
import { DEFAULT_GROUPS, DEFAULT_TOPICS } from '@taskwire/contracts';
import { parseApiTokens } from './http/auth-tokens.js';
import type { ApiToken } from './http/auth-tokens.js';

export interface Config {
  server: { host: string; port: number; addr: string };
  db: { type: 'sqlite' | 'mysql'; dsn: string };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  bodyLimitBytes: number;
  kafka: {
    enabled: boolean;
    brokers: string[];
    topics: { dispatch: string; results: string; control: string; heartbeats: string };
    resultGroupId: string;
    /** Partitions of the topics the manager creates at start-up. */
    partitions: number;
    /** Consumer group session timeout: how soon a crashed manager's partitions move to another. */
    sessionTimeoutMs: number;
  };
  workerDeadAfterMs: number;
  timeoutGraceMs: number;
  schedulerEnabled: boolean;
  auth: {
    /** From API_TOKENS; those of API_TOKENS_FILE are read at start-up (startManager). */
    tokens: readonly ApiToken[];
    tokensFile: string | null;
    /** AUTH_DISABLED: allows serving beyond loopback without tokens. */
    disabled: boolean;
  };
}

/** Thrown by loadConfig with one line per bad variable, all of them at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_SQLITE_DSN = './.data/taskwire.db';

const TOPIC = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,249}$' } as const;
const FLAG = { type: 'string', enum: ['0', '1', 'true', 'false'] } as const;
const HOST_PORT = '(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}';

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
    LOG_LEVEL: {
      type: 'string',
      enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
      description: 'one of fatal, error, warn, info, debug, trace, silent (default info)',
    },
    BODY_LIMIT_BYTES: {
      type: 'integer',
      minimum: 1024,
      maximum: 104_857_600,
      default: 1_048_576,
      description: 'an integer number of bytes from 1024 to 104857600 (default 1048576)',
    },
    KAFKA_ENABLED: {
      ...FLAG,
      default: '1',
      description: '1 or 0 (true/false); 0 runs the API without Kafka',
    },
    KAFKA_BROKERS: {
      type: 'string',
      pattern: `^${HOST_PORT}(,${HOST_PORT})*$`,
      default: '127.0.0.1:9092',
      description: 'a comma-separated list of host:port (default 127.0.0.1:9092)',
    },
    TASK_DISPATCH_TOPIC: { ...TOPIC, default: DEFAULT_TOPICS.dispatch, description: 'a Kafka topic name' },
    RESULT_TOPIC: { ...TOPIC, default: DEFAULT_TOPICS.results, description: 'a Kafka topic name' },
    TASK_CONTROL_TOPIC: { ...TOPIC, default: DEFAULT_TOPICS.control, description: 'a Kafka topic name' },
    WORKER_HEARTBEAT_TOPIC: {
      ...TOPIC,
      default: DEFAULT_TOPICS.heartbeats,
      description: 'a Kafka topic name',
    },
    RESULT_GROUP_ID: {
      type: 'string',
      pattern: '^\\S{1,255}$',
      default: DEFAULT_GROUPS.results,
      description: 'a Kafka consumer group id (1-255 characters, no spaces)',
    },
    KAFKA_TOPIC_PARTITIONS: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 12,
      description: 'an integer from 1 to 1000: partitions of the topics the manager creates (default 12)',
    },
    KAFKA_SESSION_TIMEOUT_MS: {
      type: 'integer',
      minimum: 1000,
      maximum: 300_000,
      default: 30_000,
      description: 'milliseconds from 1000 to 300000 (default 30000)',
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
    SCHEDULER_ENABLED: {
      ...FLAG,
      default: '1',
      description: '1 or 0 (true/false); 0 turns cron and due sweeps off',
    },
    // No pattern: an ajv error line would quote the value, and this value is a secret.
    API_TOKENS: {
      type: 'string',
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
  },
} as const;

type Raw = Record<keyof typeof CONFIG_SCHEMA.properties, string | number | undefined>;

const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, strict: false });
const check = ajv.compile(CONFIG_SCHEMA);
const VARS = Object.keys(CONFIG_SCHEMA.properties) as Array<keyof typeof CONFIG_SCHEMA.properties>;

function flag(v: unknown): boolean {
  return v === '1' || v === 'true';
}

/**
 * Reads the manager's variables from `env` (pure: no other input, no side effects). Empty values
 * count as unset. Throws ConfigError listing every bad variable, one line each.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const raw: Record<string, string> = {};
  for (const name of VARS) {
    const v = env[name];
    if (v !== undefined && v.trim() !== '') raw[name] = v.trim();
  }
  const given = { ...raw };
  const problems = new Map<string, string>();
  const bad = (name: string, extra = ''): void => {
    if (problems.has(name)) return;
    const spec = CONFIG_SCHEMA.properties[name as keyof typeof CONFIG_SCHEMA.properties];
    problems.set(
      name,
      `${name}=${JSON.stringify(given[name] ?? '')} is invalid${extra}: expected ${spec.description}`,
    );
  };
  if (!check(raw)) {
    for (const e of check.errors ?? []) bad(e.instancePath.slice(1));
  }
  const v = raw as unknown as Raw;

  const addr = String(v.SERVER_ADDR);
  const colon = addr.lastIndexOf(':');
  const port = Number(addr.slice(colon + 1));
  if (!problems.has('SERVER_ADDR') && !(port >= 0 && port <= 65_535))
    bad('SERVER_ADDR', ' (port out of range)');
  let host = addr.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);

  const dbType = v.DB_TYPE === 'mysql' ? 'mysql' : 'sqlite';
  let dsn = typeof v.DB_DSN === 'string' ? v.DB_DSN : undefined;
  if (dbType === 'mysql' && !problems.has('DB_TYPE')) {
    if (dsn === undefined)
      problems.set(
        'DB_DSN',
        'DB_DSN is required with DB_TYPE=mysql: expected mysql://user:pass@host:port/db',
      );
    else if (!/^mysql:\/\/[^/]+\/[^/?]+/.test(dsn))
      bad('DB_DSN', ' (DB_TYPE=mysql needs mysql://user:pass@host:port/db)');
  }
  dsn ??= DEFAULT_SQLITE_DSN;

  const apiTokens = parseApiTokens(
    typeof v.API_TOKENS === 'string' ? v.API_TOKENS : '',
    (at) => `API_TOKENS entry ${at.entry}`,
  );
  apiTokens.problems.forEach((line, i) => problems.set(`API_TOKENS ${i}`, line));

  if (problems.size > 0) throw new ConfigError([...problems.values()]);
  const config: Config = {
    server: { host, port, addr },
    db: { type: dbType, dsn },
    logLevel: v.LOG_LEVEL as Config['logLevel'],
    bodyLimitBytes: Number(v.BODY_LIMIT_BYTES),
    kafka: {
      enabled: flag(v.KAFKA_ENABLED),
      brokers: String(v.KAFKA_BROKERS).split(','),
      topics: {
        dispatch: String(v.TASK_DISPATCH_TOPIC),
        results: String(v.RESULT_TOPIC),
        control: String(v.TASK_CONTROL_TOPIC),
        heartbeats: String(v.WORKER_HEARTBEAT_TOPIC),
      },
      resultGroupId: String(v.RESULT_GROUP_ID),
      partitions: Number(v.KAFKA_TOPIC_PARTITIONS),
      sessionTimeoutMs: Number(v.KAFKA_SESSION_TIMEOUT_MS),
    },
    workerDeadAfterMs: Number(v.WORKER_DEAD_AFTER_MS),
    timeoutGraceMs: Number(v.TIMEOUT_GRACE_MS),
    schedulerEnabled: flag(v.SCHEDULER_ENABLED),
    auth: {
      tokens: apiTokens.tokens,
      tokensFile: typeof v.API_TOKENS_FILE === 'string' ? v.API_TOKENS_FILE : null,
      disabled: flag(v.AUTH_DISABLED),
    },
  };
  return deepFreeze(config);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const value of Object.values(o)) deepFreeze(value);
    Object.freeze(o);
  }
  return o;
}
