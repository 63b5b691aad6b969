// Unit tests of the shared env machinery: trimming, defaults, coercion, all problems at once, redaction.
import { describe, expect, it } from 'vitest';
import { ConfigError, readEnv } from './env.js';
import { redactValue } from './redact.js';
import { SHARED_VARS, sessionTimeoutVar } from './vars.js';

const SCHEMA = {
  type: 'object',
  properties: {
    PORT: { type: 'integer', minimum: 1, maximum: 10, default: 5, description: 'an integer from 1 to 10' },
    NAME: { type: 'string', minLength: 2, description: 'two characters or more' },
    API_KEY: { type: 'string', minLength: 16, secret: true, description: 'at least 16 characters' },
    DSN: { type: 'string', pattern: '^mysql://', description: 'a mysql:// URL' },
    KAFKA_BROKERS: SHARED_VARS.KAFKA_BROKERS,
    KAFKA_SESSION_TIMEOUT_MS: sessionTimeoutVar(10_000),
  },
} as const;

function problems(env: Record<string, string>): string[] {
  try {
    readEnv(SCHEMA, env).done();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('readEnv', () => {
  it('trims values, treats empty ones as unset, fills defaults and coerces integers', () => {
    const check = readEnv(SCHEMA, { PORT: ' 7 ', NAME: '   ', DSN: '' });
    check.done();
    expect(check.values.PORT).toBe(7);
    expect(check.values.NAME).toBeUndefined();
    expect(check.values.DSN).toBeUndefined();
    expect(check.values.KAFKA_SESSION_TIMEOUT_MS).toBe(10_000);
    expect(readEnv(SCHEMA, {}).values.PORT).toBe(5);
  });

  it('reads only the variables of its schema', () => {
    const check = readEnv(SCHEMA, { PATH: '/bin', PORT: '3' });
    expect(Object.keys(check.values)).not.toContain('PATH');
  });

  it('reports every bad variable at once, one line each with the value and what it accepts', () => {
    const lines = problems({ PORT: '11', NAME: 'x', KAFKA_BROKERS: 'nope', KAFKA_SESSION_TIMEOUT_MS: '500' });
    expect(lines).toEqual([
      'PORT="11" is invalid: expected an integer from 1 to 10',
      'NAME="x" is invalid: expected two characters or more',
      expect.stringMatching(/^KAFKA_BROKERS="nope" is invalid: expected a comma-separated list of host:port/),
      'KAFKA_SESSION_TIMEOUT_MS="500" is invalid: expected milliseconds from 1000 to 1800000 (default 10000)',
    ]);
    expect(() => readEnv(SCHEMA, { PORT: 'x', NAME: 'y' }).done()).toThrow(
      /^invalid configuration:\n {2}PORT="x".*\n {2}NAME="y"/,
    );
  });

  it('never prints a secret variable, only that it is invalid', () => {
    const lines = problems({ API_KEY: 'short-key' });
    expect(lines).toEqual(['API_KEY="<redacted>" is invalid: expected at least 16 characters']);
  });

  it('masks the password of a URL value in every message, including service-specific ones', () => {
    const check = readEnv(SCHEMA, { DSN: 'postgres://app:s3cret@db:5432/app' });
    expect(check.failed('DSN')).toBe(true);
    const extra = readEnv(SCHEMA, { DSN: 'mysql://app:s3cret@db/app' });
    extra.invalid('DSN', ' (no port)');
    for (const c of [check, extra]) {
      const text = (() => {
        try {
          c.done();
          return '';
        } catch (err) {
          return (err as Error).message;
        }
      })();
      expect(text).toContain('app:***@db');
      expect(text).not.toContain('s3cret');
    }
  });

  it('accepts host:port lists with spaces and bracketed IPv6 brokers, and refuses ports above 65535', () => {
    for (const ok of ['127.0.0.1:9092', 'a:1, b:2', '[::1]:9092', 'kafka-0.svc:9092,[fe80::1]:19092']) {
      expect(() => readEnv(SCHEMA, { KAFKA_BROKERS: ok }).done(), ok).not.toThrow();
    }
    expect(problems({ KAFKA_BROKERS: 'a:65536' })).toHaveLength(1);
    expect(problems({ KAFKA_BROKERS: '::1:9092' })).toHaveLength(1);
  });
});

describe('redactValue', () => {
  it('masks URL passwords up to the last @ and password parameters, and leaves other values alone', () => {
    expect(redactValue('mysql://root:p@ss@h:3306/db')).toBe('mysql://root:***@h:3306/db');
    expect(redactValue('mysql://root@h/db')).toBe('mysql://root@h/db');
    expect(redactValue('mysql://h/db?user=a&password=x&ssl=1')).toBe(
      'mysql://h/db?user=a&password=***&ssl=1',
    );
    expect(redactValue('./data/taskwire.db')).toBe('./data/taskwire.db');
  });
});
