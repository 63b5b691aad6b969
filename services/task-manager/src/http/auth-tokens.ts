// API tokens: the `<scope>:<token>` list format of API_TOKENS / API_TOKENS_FILE, and the constant-time lookup of a presented token.
import { createHash, timingSafeEqual } from 'node:crypto';

/** Hierarchical: each scope allows everything the ones before it allow (admin ⊃ write ⊃ read). */
export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const MIN_TOKEN_LENGTH = 16;

export interface ApiToken {
  scope: Scope;
  token: string;
}

/** True when a caller holding `held` may do what needs `needed`. */
export function scopeAllows(held: Scope, needed: Scope): boolean {
  return SCOPES.indexOf(held) >= SCOPES.indexOf(needed);
}

// RFC 6750 b64token: what may follow "Bearer " in an Authorization header, so every token can be sent.
const TOKEN_CHARS = /^[A-Za-z0-9\-._~+/]+=*$/;

export const TOKEN_FORMAT =
  `<scope>:<token> entries, scope read, write or admin, a token of at least ${MIN_TOKEN_LENGTH} ` +
  'characters from A-Z a-z 0-9 - . _ ~ + / (= only at the end)';

/**
 * Why one entry is bad, or null. Never quotes the entry: a mistyped entry is often a real token
 * (a forgotten `scope:` prefix), and error lines end up in logs.
 */
function entryProblem(entry: string): string | null {
  const colon = entry.indexOf(':');
  if (colon < 0) return 'has no "<scope>:" prefix';
  const scope = entry.slice(0, colon);
  const token = entry.slice(colon + 1);
  if (!(SCOPES as readonly string[]).includes(scope)) return 'has a scope other than read, write or admin';
  if (token.length < MIN_TOKEN_LENGTH) return `has a token shorter than ${MIN_TOKEN_LENGTH} characters`;
  if (!TOKEN_CHARS.test(token)) return 'has a token with characters other than A-Z a-z 0-9 - . _ ~ + / =';
  return null;
}

export interface ParsedTokens {
  tokens: ApiToken[];
  /** One line per bad entry, naming where it is (`where(position)`) and what is wrong, never its text. */
  problems: string[];
}

/**
 * Parses `<scope>:<token>` entries separated by commas and/or newlines; blank entries and lines
 * starting with `#` are skipped. `where` names an entry for error lines, from its line (1-based)
 * and its position among the entries (1-based).
 */
export function parseApiTokens(
  text: string,
  where: (pos: { line: number; entry: number }) => string,
): ParsedTokens {
  const tokens: ApiToken[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  let entry = 0;
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line.startsWith('#')) return;
    for (const part of line.split(',')) {
      const item = part.trim();
      if (item === '') continue;
      entry += 1;
      const at = where({ line: index + 1, entry });
      const problem = entryProblem(item);
      if (problem !== null) {
        problems.push(`${at} ${problem}: expected ${TOKEN_FORMAT}`);
        continue;
      }
      const colon = item.indexOf(':');
      const token = item.slice(colon + 1);
      const first = seen.get(token);
      if (first !== undefined) {
        problems.push(`${at} repeats the token of ${first}: each token must appear once`);
        continue;
      }
      seen.set(token, at);
      tokens.push({ scope: item.slice(0, colon) as Scope, token });
    }
  });
  return { tokens, problems };
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * The scope of a presented token, or null when it is unknown. Compares SHA-256 digests (equal
 * length, so timingSafeEqual applies) against every configured token without stopping at a
 * match: the time taken says nothing about how much of a token was right, nor which one matched.
 */
export function createTokenVerifier(tokens: readonly ApiToken[]): (presented: string) => Scope | null {
  const known = tokens.map((t) => ({ scope: t.scope, digest: sha256(t.token) }));
  return (presented) => {
    const digest = sha256(presented);
    let found: Scope | null = null;
    for (const k of known) {
      if (timingSafeEqual(k.digest, digest)) found = k.scope;
    }
    return found;
  };
}
