// Start-up decision on authentication: the tokens of API_TOKENS + API_TOKENS_FILE, or off — which only loopback may be.
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import type { Config } from '../config.js';
import { ConfigError } from '../config.js';
import { parseApiTokens } from './auth-tokens.js';
import type { ApiToken } from './auth-tokens.js';

export type AuthSetup =
  | { mode: 'tokens'; tokens: readonly ApiToken[] }
  /** `loopback`: no tokens, reachable from this machine only; `disabled`: AUTH_DISABLED=1. */
  | { mode: 'off'; reason: 'loopback' | 'disabled' };

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 or localhost; '' (every interface), 0.0.0.0, :: and any other name are not. */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  if (family === 0) return false;
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host)?.[1];
  if (v4mapped !== undefined) return loopback.check(v4mapped, 'ipv4');
  return loopback.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Reads API_TOKENS_FILE (if set), merges its tokens with API_TOKENS and decides: tokens → on; no
 * tokens → off, allowed on loopback or with AUTH_DISABLED=1. Throws ConfigError otherwise, before
 * anything is opened or listened on. Error lines never quote a token.
 */
export function resolveAuth(
  config: Pick<Config, 'auth' | 'server'>,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): AuthSetup {
  const { auth, server } = config;
  const tokens = [...auth.tokens];
  if (auth.tokensFile !== null) {
    const file = auth.tokensFile;
    let text: string;
    try {
      text = readFile(file);
    } catch (err) {
      throw new ConfigError([
        `API_TOKENS_FILE=${JSON.stringify(file)} cannot be read: ${(err as Error).message}`,
      ]);
    }
    const parsed = parseApiTokens(text, (at) => `API_TOKENS_FILE line ${at.line} (entry ${at.entry})`);
    const problems = [...parsed.problems];
    const fromEnv = new Set(tokens.map((t) => t.token));
    parsed.tokens.forEach((t, i) => {
      if (fromEnv.has(t.token))
        problems.push(
          `API_TOKENS_FILE entry ${i + 1} repeats a token of API_TOKENS: each token must appear once`,
        );
    });
    if (problems.length > 0) throw new ConfigError(problems);
    if (parsed.tokens.length === 0)
      throw new ConfigError([`API_TOKENS_FILE=${JSON.stringify(file)} has no <scope>:<token> entry`]);
    tokens.push(...parsed.tokens);
  }
  if (tokens.length > 0 && auth.disabled) {
    throw new ConfigError([
      'AUTH_DISABLED=1 and API_TOKENS/API_TOKENS_FILE are both set: unset AUTH_DISABLED to require the tokens, or the tokens to run without authentication',
    ]);
  }
  if (tokens.length > 0) return { mode: 'tokens', tokens };
  if (auth.disabled) return { mode: 'off', reason: 'disabled' };
  if (isLoopbackHost(server.host)) return { mode: 'off', reason: 'loopback' };
  throw new ConfigError([
    `refusing to start: SERVER_ADDR=${JSON.stringify(server.addr)} listens beyond loopback and no API_TOKENS or API_TOKENS_FILE is set, so anyone who can reach it could do anything. ` +
      'Set API_TOKENS (see "Security" in README.md), listen on 127.0.0.1, or set AUTH_DISABLED=1 to serve without authentication anyway',
  ]);
}
