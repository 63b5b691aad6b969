// Unit tests of the start-up decision: tokens from env and file, and no tokens only on loopback.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { isLoopbackHost, resolveAuth } from './auth-setup.js';

const noFile = (): string => {
  throw new Error('no file expected');
};

/** The ConfigError lines of resolveAuth for these variables (and a fake file; else the real one). */
function refusal(env: Record<string, string>, file?: string): string[] {
  try {
    resolveAuth(loadConfig(env), file === undefined ? undefined : () => file);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('isLoopbackHost', () => {
  it('is true for 127.0.0.0/8, ::1 and localhost only', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      'localhost',
      'LOCALHOST',
    ])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of [
      '',
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '128.0.0.1',
      '::ffff:10.0.0.1',
      'example.com',
      'localhost.evil',
    ])
      expect(isLoopbackHost(host), host).toBe(false);
  });
});

describe('resolveAuth', () => {
  it('turns authentication off on loopback when no token is set (the default address)', () => {
    expect(resolveAuth(loadConfig({}), noFile)).toEqual({ mode: 'off', reason: 'loopback' });
    expect(resolveAuth(loadConfig({ SERVER_ADDR: '[::1]:9000' }), noFile).mode).toBe('off');
  });

  it('refuses every other address without tokens, saying why and what to do', () => {
    for (const addr of [':8080', '0.0.0.0:8080', '[::]:8080', '192.168.1.10:8080', 'box:8080']) {
      const [line, ...rest] = refusal({ SERVER_ADDR: addr });
      expect(rest).toEqual([]);
      expect(line).toContain(
        `refusing to start: SERVER_ADDR=${JSON.stringify(addr)} listens beyond loopback`,
      );
      expect(line).toContain('API_TOKENS');
      expect(line).toContain('AUTH_DISABLED=1');
    }
  });

  it('serves any address without authentication when AUTH_DISABLED=1', () => {
    expect(resolveAuth(loadConfig({ SERVER_ADDR: ':8080', AUTH_DISABLED: '1' }), noFile)).toEqual({
      mode: 'off',
      reason: 'disabled',
    });
  });

  it('requires the tokens of API_TOKENS and API_TOKENS_FILE together, on any address', () => {
    const setup = resolveAuth(
      loadConfig({ SERVER_ADDR: ':8080', API_TOKENS: 'read:aaaaaaaaaaaaaaaa1', API_TOKENS_FILE: '/tokens' }),
      (path) => (path === '/tokens' ? '# ops\nadmin:bbbbbbbbbbbbbbbb2\n' : noFile()),
    );
    expect(setup).toEqual({
      mode: 'tokens',
      tokens: [
        { scope: 'read', token: 'aaaaaaaaaaaaaaaa1' },
        { scope: 'admin', token: 'bbbbbbbbbbbbbbbb2' },
      ],
    });
  });

  it('names bad lines of the file, an unreadable or empty file, and never a token', () => {
    const lines = refusal(
      { API_TOKENS: 'read:aaaaaaaaaaaaaaaa1', API_TOKENS_FILE: '/t' },
      'write:x\nadmin:aaaaaaaaaaaaaaaa1',
    );
    expect(lines).toEqual([
      expect.stringMatching(/^API_TOKENS_FILE line 1 \(entry 1\) has a token shorter than 16 characters/),
      'API_TOKENS_FILE entry 1 repeats a token of API_TOKENS: each token must appear once',
    ]);
    expect(lines.join('\n')).not.toContain('aaaa');
    expect(refusal({ API_TOKENS_FILE: '/t' }, '# nothing\n')).toEqual([
      'API_TOKENS_FILE="/t" has no <scope>:<token> entry',
    ]);
    const missing = refusal({ API_TOKENS_FILE: '/no/such/file' });
    expect(missing[0]).toMatch(/^API_TOKENS_FILE="\/no\/such\/file" cannot be read: /);
  });

  it('refuses tokens together with AUTH_DISABLED=1 rather than guess which was meant', () => {
    expect(refusal({ API_TOKENS: 'read:aaaaaaaaaaaaaaaa1', AUTH_DISABLED: '1' })[0]).toMatch(
      /^AUTH_DISABLED=1 and API_TOKENS\/API_TOKENS_FILE are both set/,
    );
  });
});
