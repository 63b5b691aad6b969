// Unit tests of loadConfig: defaults, parsing, and every bad variable reported at once.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('an empty environment gives the documented defaults', () => {
    const c = loadConfig({});
    expect(c.server).toEqual({ host: '127.0.0.1', port: 8080, addr: '127.0.0.1:8080' });
    expect(c.db).toEqual({ type: 'sqlite', dsn: './.data/taskwire.db', poolSize: 10, queueLimit: 1000 });
    expect(c.logLevel).toBe('info');
    expect(c.bodyLimitBytes).toBe(1_048_576);
    expect(c.kafka).toEqual({
      enabled: true,
      brokers: ['127.0.0.1:9092'],
      topics: {
        dispatch: 'task_execution_requests',
        results: 'task_results',
        control: 'task_control',
        heartbeats: 'task_worker_heartbeats',
        schemas: 'taskwire.schemas',
      },
      resultGroupId: 'task-manager-results-group',
      workerGroupId: 'task-worker-group',
      partitions: 12,
      sessionTimeoutMs: 30_000,
      maxMessageBytes: 921_600,
      relayLingerMs: 2,
      resultLingerMs: 2,
    });
    expect(c.limits).toEqual({ paramsBytes: 262_144, resultBytes: 262_144, errorBytes: 65_536 });
    expect(c.workerDeadAfterMs).toBe(15_000);
    expect(c.timeoutGraceMs).toBe(30_000);
    expect(c.schedulerEnabled).toBe(true);
    expect(c.retention).toEqual({ days: 30, intervalMs: 60_000, batch: 100 });
    expect(Object.isFrozen(c.kafka.topics)).toBe(true);
    expect(c.auth).toEqual({ tokens: [], tokensFile: null, disabled: false });
  });

  it('parses host:port, mysql, flags, numbers and broker lists', () => {
    const c = loadConfig({
      SERVER_ADDR: '127.0.0.1:9000',
      DB_TYPE: 'mysql',
      DB_DSN: 'mysql://root@127.0.0.1:3306/taskwire',
      KAFKA_ENABLED: '0',
      SCHEDULER_ENABLED: 'false',
      KAFKA_BROKERS: 'a:9092,b.example:19092',
      BODY_LIMIT_BYTES: '2048',
      LOG_LEVEL: 'warn',
      DB_POOL_SIZE: '4',
      DB_QUEUE_LIMIT: '50',
    });
    expect(c.server).toMatchObject({ host: '127.0.0.1', port: 9000 });
    expect(c.db).toEqual({
      type: 'mysql',
      dsn: 'mysql://root@127.0.0.1:3306/taskwire',
      poolSize: 4,
      queueLimit: 50,
    });
    expect(c.kafka.enabled).toBe(false);
    expect(c.schedulerEnabled).toBe(false);
    expect(c.kafka.brokers).toEqual(['a:9092', 'b.example:19092']);
    expect(c.bodyLimitBytes).toBe(2048);
    expect(c.logLevel).toBe('warn');
  });

  it('empty values count as unset', () => {
    expect(loadConfig({ SERVER_ADDR: '', LOG_LEVEL: ' ' }).server.port).toBe(8080);
  });

  it('reports every bad variable at once, one line each naming it and what it accepts', () => {
    const lines = problems({
      SERVER_ADDR: 'localhost',
      DB_TYPE: 'postgres',
      LOG_LEVEL: 'loud',
      BODY_LIMIT_BYTES: 'lots',
      KAFKA_ENABLED: 'yes',
      KAFKA_BROKERS: 'nohostport',
      TASK_DISPATCH_TOPIC: 'bad topic',
      WORKER_DEAD_AFTER_MS: '-5',
      TIMEOUT_GRACE_MS: '1.5',
      SCHEDULER_ENABLED: 'maybe',
      DB_POOL_SIZE: '0',
      DB_QUEUE_LIMIT: 'unbounded',
    });
    const names = lines.map((l) => l.split('=')[0]);
    expect(names.sort()).toEqual(
      [
        'BODY_LIMIT_BYTES',
        'DB_POOL_SIZE',
        'DB_QUEUE_LIMIT',
        'DB_TYPE',
        'KAFKA_BROKERS',
        'KAFKA_ENABLED',
        'LOG_LEVEL',
        'SCHEDULER_ENABLED',
        'SERVER_ADDR',
        'TASK_DISPATCH_TOPIC',
        'TIMEOUT_GRACE_MS',
        'WORKER_DEAD_AFTER_MS',
      ].sort(),
    );
    expect(lines.find((l) => l.startsWith('BODY_LIMIT_BYTES'))).toBe(
      'BODY_LIMIT_BYTES="lots" is invalid: expected an integer number of bytes from 1024 to 104857600 (default 1048576)',
    );
    expect(lines.find((l) => l.startsWith('LOG_LEVEL'))).toContain('one of fatal, error, warn');
  });

  it('CREATE_COMMIT_INTERVAL_MS defaults to 2 ms, takes 0 (no pacing) to 100, and names a bad value', () => {
    expect(loadConfig({}).createCommitIntervalMs).toBe(2);
    expect(loadConfig({ CREATE_COMMIT_INTERVAL_MS: '0' }).createCommitIntervalMs).toBe(0);
    expect(loadConfig({ CREATE_COMMIT_INTERVAL_MS: '20' }).createCommitIntervalMs).toBe(20);
    expect(problems({ CREATE_COMMIT_INTERVAL_MS: '101' })[0]).toMatch(
      /^CREATE_COMMIT_INTERVAL_MS="101" is invalid: expected milliseconds from 0 to 100/,
    );
  });

  it("a topic named like TASK_DISPATCH_TOPIC or a queue's dispatch topic under it is refused, naming it", () => {
    expect(problems({ TASK_DISPATCH_TOPIC: 'taskwire' })).toEqual([
      'TASK_SCHEMA_TOPIC="taskwire.schemas" is TASK_DISPATCH_TOPIC or a queue\'s dispatch topic under it ' +
        '(taskwire.<queue>): choose a name outside "taskwire."',
    ]);
    expect(problems({ TASK_DISPATCH_TOPIC: 'jobs', RESULT_TOPIC: 'jobs' })[0]).toMatch(
      /^RESULT_TOPIC="jobs" is/,
    );
    expect(loadConfig({ TASK_DISPATCH_TOPIC: 'jobs' }).kafka.topics.dispatch).toBe('jobs');
  });

  it('SCHEMA_MAX_BYTES/DEPTH/NODES default to the compiler defaults and take overrides; a bad one is named', () => {
    expect(loadConfig({}).schemaLimits).toEqual({ maxBytes: 65_536, maxDepth: 32, maxNodes: 2000 });
    expect(
      loadConfig({ SCHEMA_MAX_BYTES: '1024', SCHEMA_MAX_DEPTH: '8', SCHEMA_MAX_NODES: '100' }).schemaLimits,
    ).toEqual({ maxBytes: 1024, maxDepth: 8, maxNodes: 100 });
    const lines = problems({ SCHEMA_MAX_BYTES: '10', SCHEMA_MAX_NODES: 'many' });
    expect(lines.map((l) => l.split('=')[0])).toEqual(['SCHEMA_MAX_BYTES', 'SCHEMA_MAX_NODES']);
  });

  it('mysql needs a mysql:// DSN', () => {
    expect(problems({ DB_TYPE: 'mysql' })).toEqual([
      'DB_DSN is required with DB_TYPE=mysql: expected mysql://user:pass@host:port/db',
    ]);
    expect(problems({ DB_TYPE: 'mysql', DB_DSN: './file.db' })[0]).toMatch(
      /^DB_DSN="\.\/file\.db" is invalid/,
    );
  });

  it('accepts IPv6 brokers in brackets and spaces after commas, like the worker', () => {
    expect(loadConfig({ KAFKA_BROKERS: '[::1]:9092' }).kafka.brokers).toEqual(['[::1]:9092']);
    expect(loadConfig({ KAFKA_BROKERS: 'a:1, b:2' }).kafka.brokers).toEqual(['a:1', 'b:2']);
  });

  it('never prints the password of a DB_DSN it refuses', () => {
    const [line] = problems({ DB_TYPE: 'mysql', DB_DSN: 'mysql://taskwire:hunter2@db:3306' });
    expect(line).toMatch(/^DB_DSN="mysql:\/\/taskwire:\*\*\*@db:3306" is invalid/);
    expect(line).not.toContain('hunter2');
  });

  it('a port above 65535 is refused', () => {
    expect(problems({ SERVER_ADDR: ':70000' })[0]).toMatch(
      /^SERVER_ADDR=":70000" is invalid \(port out of range\)/,
    );
  });

  it('the error message lists every problem', () => {
    try {
      loadConfig({ LOG_LEVEL: 'x', DB_TYPE: 'y' });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/invalid configuration:\n {2}.*\n {2}/);
    }
  });
});

describe('loadConfig: API_TOKENS, API_TOKENS_FILE, AUTH_DISABLED', () => {
  const SECRET = 'Zx9-secret-token-value';

  it('parses comma-separated <scope>:<token> entries, the file path and the flag', () => {
    const c = loadConfig({
      API_TOKENS: ` read:${SECRET}1 , admin:${SECRET}2,`,
      API_TOKENS_FILE: '/run/secrets/taskwire-tokens',
      AUTH_DISABLED: '1',
    });
    expect(c.auth).toEqual({
      tokens: [
        { scope: 'read', token: `${SECRET}1` },
        { scope: 'admin', token: `${SECRET}2` },
      ],
      tokensFile: '/run/secrets/taskwire-tokens',
      disabled: true,
    });
  });

  it('names each bad entry by its position and what is wrong, never printing the token', () => {
    let message = '';
    try {
      loadConfig({
        API_TOKENS: `read:${SECRET},${SECRET},root:${SECRET}x,write:tiny1,write:${SECRET} space,admin:${SECRET}`,
        LOG_LEVEL: 'loud',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    const lines = problems({
      API_TOKENS: `read:${SECRET},${SECRET},root:${SECRET}x,write:tiny1,write:${SECRET} space,admin:${SECRET}`,
    });
    expect(lines.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual([
      'API_TOKENS entry 2',
      'API_TOKENS entry 3',
      'API_TOKENS entry 4',
      'API_TOKENS entry 5',
      'API_TOKENS entry 6',
    ]);
    expect(lines[0]).toMatch(/^API_TOKENS entry 2 has no "<scope>:" prefix: expected <scope>:<token>/);
    expect(lines[1]).toContain('scope other than read, write or admin');
    expect(lines[2]).toContain('shorter than 16 characters');
    expect(lines[3]).toContain('characters other than');
    expect(lines[4]).toBe(
      'API_TOKENS entry 6 repeats the token of API_TOKENS entry 1: each token must appear once',
    );
    expect(message).toContain('LOG_LEVEL');
    expect(message).toContain('API_TOKENS entry 2');
    expect(message).not.toContain(SECRET);
    expect(message).not.toContain('tiny1');
  });

  it('RETENTION_DAYS 0 keeps everything; a negative one, or a batch of 0, names the variable', () => {
    expect(loadConfig({ RETENTION_DAYS: '0' }).retention.days).toBe(0);
    const found = problems({ RETENTION_DAYS: '-1', RETENTION_BATCH: '0', RETENTION_INTERVAL_MS: '5' });
    expect(found.join('\n')).toMatch(/RETENTION_DAYS/);
    expect(found.join('\n')).toMatch(/RETENTION_BATCH/);
    expect(found.join('\n')).toMatch(/RETENTION_INTERVAL_MS/);
  });
});
