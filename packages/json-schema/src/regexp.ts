// The linear-time regular expressions (RE2, via re2js) that user schemas' `pattern`,
// `patternProperties` and `format: "regex"` run on, instead of V8's backtracking engine.
import { RE2JS } from 're2js';
import type { RegExpEngine, RegExpLike } from 'ajv/dist/types/index.js';

/**
 * Compiles an ECMA-262 pattern (as JSON Schema writes it) to RE2. Throws when RE2 cannot express
 * it: backreferences and lookaround need backtracking, which is what makes `^(a+)+$` exponential.
 */
export function compileLinear(pattern: string): RE2JS {
  const known = memo.get(pattern);
  if (known instanceof RE2JS) return known;
  if (known) throw known;
  let out: RE2JS | Error;
  try {
    out = RE2JS.compile(RE2JS.translateRegExp(pattern));
  } catch (err) {
    out = err as Error;
  }
  if (memo.size >= MEMO_SIZE) memo.clear();
  memo.set(pattern, out);
  if (out instanceof Error) throw out;
  return out;
}

// The pre-compile check and ajv's engine both need each pattern; a schema near the node limit has
// hundreds. Bounded: cleared whole when full (patterns are small; the point is the pair of calls).
const MEMO_SIZE = 2000;
const memo = new Map<string, RE2JS | Error>();

/** Whether `pattern` compiles under RE2; the `regex` format and the pre-compile check use it. */
export function isLinearPattern(pattern: string): boolean {
  try {
    compileLinear(pattern);
    return true;
  } catch {
    return false;
  }
}

/** Why RE2 refuses `pattern` (its syntax error), or null when it compiles. */
export function linearPatternProblem(pattern: string): string | null {
  try {
    compileLinear(pattern);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * ajv's `code.regExp` hook. RE2 always matches by code point, as ajv's default `u` flag asks.
 * toString matters: ajv keys its per-instance pattern cache by it, so it must differ per pattern.
 */
export const re2Engine: RegExpEngine = Object.assign(
  (pattern: string, u: string): RegExpLike => {
    const re = compileLinear(pattern);
    const like = { test: (s: string) => re.test(s), toString: () => `/${pattern}/${u}` };
    return like as RegExpLike;
  },
  // Only ajv's standalone code generation (unused here) prints this; ajv requires a string.
  { code: 're2Engine' },
);

/** Keywords whose values are data, not schemas: a `pattern` inside them is not a regex. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example']);

/**
 * The first `pattern` value or `patternProperties` key RE2 cannot run, with its JSON pointer, or
 * null. Found before compiling, and also where ajv would never run it (a `patternProperties` with
 * an always-true schema), so that what is accepted does not depend on ajv's shortcuts.
 */
export function findUnsupportedPattern(
  schema: unknown,
): { keyword: 'pattern' | 'patternProperties'; pattern: string; path: string; reason: string } | null {
  const stack: Array<[unknown, string]> = [[schema, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
    for (const [k, x] of entries) {
      const here = `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (!Array.isArray(v)) {
        if (DATA_KEYWORDS.has(k)) continue;
        if (k === 'pattern' && typeof x === 'string') {
          const reason = linearPatternProblem(x);
          if (reason !== null) return { keyword: 'pattern', pattern: x, path: here, reason };
        }
        if (k === 'patternProperties' && x !== null && typeof x === 'object' && !Array.isArray(x)) {
          for (const p of Object.keys(x)) {
            const reason = linearPatternProblem(p);
            const at = `${here}/${p.replace(/~/g, '~0').replace(/\//g, '~1')}`;
            if (reason !== null) return { keyword: 'patternProperties', pattern: p, path: at, reason };
          }
        }
      }
      stack.push([x, here]);
    }
  }
  return null;
}
