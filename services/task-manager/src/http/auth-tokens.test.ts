// Unit tests of the token list format (API_TOKENS / API_TOKENS_FILE) and the token lookup.
import { describe, expect, it } from 'vitest';
import { createTokenVerifier, parseApiTokens, scopeAllows } from './auth-tokens.js';

const where = (at: { line: number; entry: number }): string => `line ${at.line} entry ${at.entry}`;

describe('parseApiTokens', () => {
  it('reads entries one or more per line, comma-separated, skipping blanks and # comments', () => {
    const text = [
      '# taskwire tokens',
      'read:aaaaaaaaaaaaaaaa1, write:bbbbbbbbbbbbbbbb2',
      '',
      '  admin:cccccccccccccccc3==  ',
      'read:dddd.eeee_ffff~gggg+hh/ii-jj,',
    ].join('\r\n');
    expect(parseApiTokens(text, where)).toEqual({
      tokens: [
        { scope: 'read', token: 'aaaaaaaaaaaaaaaa1' },
        { scope: 'write', token: 'bbbbbbbbbbbbbbbb2' },
        { scope: 'admin', token: 'cccccccccccccccc3==' },
        { scope: 'read', token: 'dddd.eeee_ffff~gggg+hh/ii-jj' },
      ],
      problems: [],
    });
  });

  it('names the line and entry of each bad one', () => {
    const { tokens, problems } = parseApiTokens(
      'read:aaaaaaaaaaaaaaaa1\n# x\nwrite:aaaaaaaaaaaaaaaa1, READ:bbbbbbbbbbbbbbbb2,admin:cccccccccccccccc=3',
      where,
    );
    expect(tokens).toHaveLength(1);
    expect(problems.map((p) => p.split(' ').slice(0, 4).join(' '))).toEqual([
      'line 3 entry 2',
      'line 3 entry 3',
      'line 3 entry 4',
    ]);
    expect(problems[0]).toBe(
      'line 3 entry 2 repeats the token of line 1 entry 1: each token must appear once',
    );
    for (const p of problems) expect(p).not.toMatch(/aaaa|bbbb|cccc/);
  });
});

describe('createTokenVerifier', () => {
  const verify = createTokenVerifier([
    { scope: 'read', token: 'read-token-0123456789' },
    { scope: 'admin', token: 'admin-token-0123456789' },
  ]);

  it('gives the scope of a known token and null for anything else', () => {
    expect(verify('read-token-0123456789')).toBe('read');
    expect(verify('admin-token-0123456789')).toBe('admin');
    for (const other of ['', 'read-token-012345678', 'read-token-01234567890', 'READ-TOKEN-0123456789'])
      expect(verify(other), other).toBeNull();
  });

  it('knows nothing when no token is configured', () => {
    expect(createTokenVerifier([])('read-token-0123456789')).toBeNull();
  });
});

describe('scopeAllows', () => {
  it('is hierarchical: admin ⊃ write ⊃ read', () => {
    expect(scopeAllows('admin', 'write')).toBe(true);
    expect(scopeAllows('admin', 'read')).toBe(true);
    expect(scopeAllows('write', 'read')).toBe(true);
    expect(scopeAllows('write', 'admin')).toBe(false);
    expect(scopeAllows('read', 'write')).toBe(false);
  });
});
