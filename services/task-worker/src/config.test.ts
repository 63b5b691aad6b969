import { describe, expect, it } from 'vitest';
import { BUILTIN_PLUGIN, ConfigError, loadConfig, SHELL_PLUGIN } from './config.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('fills every default from an empty environment', () => {
    const config = loadConfig({}, { hostname: 'box', pid: 42 });
    expect(config).toMatchObject({
      kafkaBrokers: ['127.0.0.1:9092'],
      dispatchTopic: 'task_execution_requests',
      resultTopic: 'task_results',
      controlTopic: 'task_control',
      heartbeatTopic: 'task_worker_heartbeats',
      groupId: 'task-worker-group',
      queues: ['default'],
      concurrency: 16,
      executors: [BUILTIN_PLUGIN],
      allowShell: false,
      heartbeatIntervalMs: 5000,
      shutdownGraceMs: 30000,
      sessionTimeoutMs: 10000,
      maxMessageBytes: 921_600,
      maxResultBytes: 262_144,
      logLevel: 'info',
    });
    expect(config.workerId).toMatch(/^box-42-[0-9a-f]{6}$/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('parses lists and numbers, trimming spaces', () => {
    const config = loadConfig({
      KAFKA_BROKERS: 'a:9092, b:9093',
      WORKER_QUEUES: 'default, emails,emails',
      WORKER_CONCURRENCY: '64',
      EXECUTORS: './plugins/a.js , my-plugin',
      WORKER_ID: 'w-1',
      LOG_LEVEL: 'debug',
    });
    expect(config.kafkaBrokers).toEqual(['a:9092', 'b:9093']);
    expect(config.queues).toEqual(['default', 'emails']);
    expect(config.concurrency).toBe(64);
    expect(config.executors).toEqual(['./plugins/a.js', 'my-plugin']);
    expect(config.workerId).toBe('w-1');
    expect(config.logLevel).toBe('debug');
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ WORKER_CONCURRENCY: '', LOG_LEVEL: '  ' }).concurrency).toBe(16);
  });

  it('adds the shell plugin to the default executors when WORKER_ALLOW_SHELL=1', () => {
    const config = loadConfig({ WORKER_ALLOW_SHELL: '1' });
    expect(config.allowShell).toBe(true);
    expect(config.executors).toEqual([BUILTIN_PLUGIN, SHELL_PLUGIN]);
    expect(loadConfig({ WORKER_ALLOW_SHELL: '1', EXECUTORS: 'x' }).executors).toEqual(['x']);
  });

  it('names every bad variable at once, with its value and what it accepts', () => {
    const lines = problems({
      KAFKA_BROKERS: 'localhost',
      WORKER_CONCURRENCY: '0',
      WORKER_QUEUES: 'Bad Queue',
      WORKER_ALLOW_SHELL: 'yes',
      HEARTBEAT_INTERVAL_MS: 'soon',
      SHUTDOWN_GRACE_MS: '-1',
      KAFKA_SESSION_TIMEOUT_MS: '1.5',
      LOG_LEVEL: 'loud',
      RESULT_TOPIC: 'has space',
      WORKER_ID: 'a/b',
    });
    expect(lines).toHaveLength(10);
    expect(lines).toContain(
      'KAFKA_BROKERS="localhost" is invalid: expected a comma-separated list of host:port or [ipv6]:port (default 127.0.0.1:9092)',
    );
    expect(lines).toContain('WORKER_CONCURRENCY="0" is invalid: expected an integer from 1 to 1024');
    expect(lines.find((l) => l.startsWith('WORKER_QUEUES="Bad Queue"'))).toMatch(/queue names matching/);
    expect(lines).toContain('WORKER_ALLOW_SHELL="yes" is invalid: expected 0 or 1');
    expect(lines.find((l) => l.startsWith('HEARTBEAT_INTERVAL_MS="soon"'))).toBeDefined();
    expect(lines.find((l) => l.startsWith('SHUTDOWN_GRACE_MS="-1"'))).toBeDefined();
    expect(lines.find((l) => l.startsWith('KAFKA_SESSION_TIMEOUT_MS="1.5"'))).toBeDefined();
    expect(lines.find((l) => l.startsWith('LOG_LEVEL="loud"'))).toMatch(
      /fatal, error, warn, info, debug, trace, silent/,
    );
    expect(lines.find((l) => l.startsWith('RESULT_TOPIC="has space"'))).toMatch(/Kafka topic name/);
    expect(lines.find((l) => l.startsWith('WORKER_ID="a/b"'))).toBeDefined();
  });

  it('reads the executor sandbox allowlists, empty (nothing extra allowed) by default', () => {
    expect(loadConfig({})).toMatchObject({ httpAllowHosts: [], shellPrograms: [], shellEnv: [] });
    const config = loadConfig({
      HTTP_EXECUTOR_ALLOW_HOSTS: '127.0.0.1, 10.0.0.0/8,internal.example,[::1]',
      WORKER_SHELL_PROGRAMS: 'env, /usr/bin/git',
      WORKER_SHELL_ENV: 'GREETING, LANG',
    });
    expect(config.httpAllowHosts).toEqual(['127.0.0.1', '10.0.0.0/8', 'internal.example', '[::1]']);
    expect(config.shellPrograms).toEqual(['env', '/usr/bin/git']);
    expect(config.shellEnv).toEqual(['GREETING', 'LANG']);
    expect(problems({ HTTP_EXECUTOR_ALLOW_HOSTS: 'a b', WORKER_SHELL_ENV: 'NOT-A-KEY' })).toEqual([
      'HTTP_EXECUTOR_ALLOW_HOSTS="a b" is invalid: expected a comma-separated list of hostnames, IP addresses and CIDRs (e.g. 127.0.0.1,10.0.0.0/8)',
      'WORKER_SHELL_ENV="NOT-A-KEY" is invalid: expected a comma-separated list of environment variable names',
    ]);
  });

  it('accepts IPv6 brokers in brackets and spaces after commas, like the manager', () => {
    expect(loadConfig({ KAFKA_BROKERS: '[::1]:9092' }).kafkaBrokers).toEqual(['[::1]:9092']);
    expect(loadConfig({ KAFKA_BROKERS: 'a:1, b:2' }).kafkaBrokers).toEqual(['a:1', 'b:2']);
    expect(problems({ KAFKA_BROKERS: 'a:70000' })[0]).toMatch(/^KAFKA_BROKERS="a:70000" is invalid/);
  });

  it('serves no probes unless HEALTH_ADDR is set, and parses host:port when it is', () => {
    expect(loadConfig({}).health).toBeUndefined();
    expect(loadConfig({ HEALTH_ADDR: '127.0.0.1:9464' }).health).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadConfig({ HEALTH_ADDR: '[::1]:9464' }).health).toEqual({ host: '::1', port: 9464 });
    expect(problems({ HEALTH_ADDR: '9464' })[0]).toMatch(
      /^HEALTH_ADDR="9464" is invalid: expected host:port/,
    );
    expect(problems({ HEALTH_ADDR: 'localhost:99999' })[0]).toMatch(/port out of range/);
  });

  it('serves no metrics unless METRICS_ADDR is set, and parses host:port when it is', () => {
    expect(loadConfig({}).metrics).toBeUndefined();
    expect(loadConfig({ METRICS_ADDR: '0.0.0.0:9465' }).metrics).toEqual({ host: '0.0.0.0', port: 9465 });
    expect(loadConfig({ METRICS_ADDR: '[::1]:9465' }).metrics).toEqual({ host: '::1', port: 9465 });
    expect(problems({ METRICS_ADDR: '9465' })[0]).toMatch(
      /^METRICS_ADDR="9465" is invalid: expected host:port/,
    );
    expect(problems({ METRICS_ADDR: 'localhost:99999' })[0]).toMatch(/port out of range/);
  });

  it('reads SCHEMA_MAX_* like the manager, with the same defaults', () => {
    expect(loadConfig({}).schemaLimits).toEqual({ maxBytes: 65_536, maxDepth: 32, maxNodes: 2000 });
    expect(loadConfig({ SCHEMA_MAX_DEPTH: '8' }).schemaLimits.maxDepth).toBe(8);
    expect(problems({ SCHEMA_MAX_DEPTH: '1' })).toEqual([
      'SCHEMA_MAX_DEPTH="1" is invalid: expected an integer from 2 to 1000 (schema nesting)',
    ]);
  });

  it('reads the schema topic and SCHEMA_WAIT_MS, naming what it accepts when it is bad', () => {
    expect(loadConfig({})).toMatchObject({ schemaTopic: 'taskwire.schemas', schemaWaitMs: 30_000 });
    expect(loadConfig({ TASK_SCHEMA_TOPIC: 'my.schemas', SCHEMA_WAIT_MS: '500' })).toMatchObject({
      schemaTopic: 'my.schemas',
      schemaWaitMs: 500,
    });
    expect(problems({ SCHEMA_WAIT_MS: 'soon' })).toEqual([
      'SCHEMA_WAIT_MS="soon" is invalid: expected an integer number of ms from 0 to 3600000 (how long a dispatch waits for the param_schema it names)',
    ]);
  });

  it('rejects a concurrency above 1024', () => {
    expect(problems({ WORKER_CONCURRENCY: '1025' })).toEqual([
      'WORKER_CONCURRENCY="1025" is invalid: expected an integer from 1 to 1024',
    ]);
  });
});
