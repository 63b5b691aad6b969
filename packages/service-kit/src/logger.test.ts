// Unit tests of the root logger's secret masking: a DSN password never reaches a log line.
import { describe, expect, it } from 'vitest';
import { createLogger, dsnPassword, maskSecrets } from './logger.js';

function capture(secrets: string[]) {
  const lines: string[] = [];
  const logger = createLogger({
    name: 'test',
    level: 'info',
    secrets,
    destination: { write: (l: string) => void lines.push(l) },
  });
  return { logger, lines };
}

describe('logger secret masking', () => {
  it('dsnPassword finds the URL-decoded password of a DSN, or null', () => {
    expect(dsnPassword('mysql://tw:s3cr%40t@db:3306/taskwire')).toBe('s3cr@t');
    expect(dsnPassword('mysql://tw@db:3306/taskwire')).toBeNull();
    expect(dsnPassword('./.data/taskwire.db')).toBeNull();
  });

  it("an error carrying the password (a URL parser's `input`, a message, a cause) is logged masked", () => {
    const { logger, lines } = capture(['hunter2-pw']);
    let urlError: unknown;
    try {
      new URL('mysql://tw:hunter2-pw@db:99999/taskwire');
    } catch (err) {
      urlError = err;
    }
    expect((urlError as { input?: string }).input).toContain('hunter2-pw');
    logger.fatal({ err: urlError }, 'task-manager failed to start');
    logger.error(
      {
        err: new Error('cannot use mysql://tw:hunter2-pw@db/taskwire', { cause: new Error('pw=hunter2-pw') }),
      },
      'x',
    );
    logger.info({ dsn: 'mysql://tw:hunter2-pw@db/taskwire' }, 'password hunter2-pw in the message too');
    const out = lines.join('');
    expect(out).not.toContain('hunter2-pw');
    expect(out).toContain('mysql://tw:***@db');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(() => JSON.parse(l) as unknown).not.toThrow();
  });

  it('URL credentials are masked even when the password is not a known secret; other text is untouched', () => {
    expect(maskSecrets('connect to mysql://root:x@127.0.0.1:3306/db failed')).toBe(
      'connect to mysql://root:***@127.0.0.1:3306/db failed',
    );
    expect(maskSecrets('GET /tasks?x=1 http://example.com/a:b', ['abcd'])).toBe(
      'GET /tasks?x=1 http://example.com/a:b',
    );
  });

  it('URL-encoded and JSON-escaped spellings of the password are masked too; short ones only inside URLs', () => {
    const pw = 'p@ss"w/rd';
    expect(maskSecrets(`a ${encodeURIComponent(pw)} b ${JSON.stringify(pw)} c`, [pw])).toBe(
      'a *** b "***" c',
    );
    expect(maskSecrets('a pw b', ['pw'])).toBe('a pw b');
  });
});
