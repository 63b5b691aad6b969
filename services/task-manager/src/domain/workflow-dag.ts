// The DAG rules of workflows, pure: step keys and edges, cycles, $ref parsing and resolution, what a failure cancels.
import type { ErrorDetail } from '@taskwire/contracts';
import { AppError } from './errors.js';

/** The most steps one workflow may have (the 1,000-step fan-out fits five times over). */
export { MAX_WORKFLOW_STEPS } from '@taskwire/contracts';

/** A step key: what $refs and depends_on name. */
export const STEP_KEY_PATTERN = /^[A-Za-z0-9_.-]{1,200}$/;

export interface StepShape {
  key: string;
  dependsOn: readonly string[];
  params: unknown;
}

/** A `{"$ref": "#/steps/<key>/result<pointer>"}` found in params. */
export interface StepRef {
  step: string;
  /** JSON Pointer into the step's result ("" = the whole result). */
  pointer: string;
}

const REF_PREFIX = '#/steps/';

/** Whether `value` is exactly `{"$ref": "<string>"}` (the only form replaced). */
function refString(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== '$ref') return null;
  const ref = (value as Record<string, unknown>).$ref;
  return typeof ref === 'string' ? ref : null;
}

/** Parses a $ref string; null when it does not have the `#/steps/<key>/result…` form. */
export function parseRef(ref: string): StepRef | null {
  if (!ref.startsWith(REF_PREFIX)) return null;
  const rest = ref.slice(REF_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const step = rest.slice(0, slash);
  const tail = rest.slice(slash + 1);
  if (tail !== 'result' && !tail.startsWith('result/')) return null;
  return { step, pointer: tail.slice('result'.length) };
}

/** Every $ref value in `params` with its location (a JSON Pointer into params). */
export function findRefs(
  params: unknown,
  at = '',
): Array<{ at: string; ref: string; parsed: StepRef | null }> {
  const ref = refString(params);
  if (ref !== null) return [{ at, ref, parsed: parseRef(ref) }];
  if (Array.isArray(params)) return params.flatMap((v, i) => findRefs(v, `${at}/${i}`));
  if (typeof params === 'object' && params !== null) {
    return Object.entries(params).flatMap(([k, v]) => findRefs(v, `${at}/${escape(k)}`));
  }
  return [];
}

const escape = (token: string) => token.replace(/~/g, '~0').replace(/\//g, '~1');
const unescape = (token: string) => token.replace(/~1/g, '/').replace(/~0/g, '~');

/** The value at JSON Pointer `pointer` in `doc`, or `{found: false}`. */
export function resolvePointer(
  doc: unknown,
  pointer: string,
): { found: true; value: unknown } | { found: false } {
  if (pointer === '') return { found: true, value: doc };
  let cur = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const token = unescape(raw);
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(token) || Number(token) >= cur.length) return { found: false };
      cur = cur[Number(token)];
    } else if (typeof cur === 'object' && cur !== null && Object.hasOwn(cur, token)) {
      cur = (cur as Record<string, unknown>)[token];
    } else return { found: false };
  }
  return { found: true, value: cur };
}

/**
 * `params` with every $ref replaced by the value it names in `results` (step key → result). Throws
 * an Error naming the ref and the step when a value is missing.
 */
export function substituteRefs(params: unknown, results: ReadonlyMap<string, unknown>): unknown {
  const ref = refString(params);
  if (ref !== null) {
    const parsed = parseRef(ref);
    if (!parsed)
      throw new Error(`$ref ${JSON.stringify(ref)} is not of the form #/steps/<key>/result<pointer>`);
    if (!results.has(parsed.step))
      throw new Error(`$ref ${JSON.stringify(ref)}: step "${parsed.step}" has no result`);
    const hit = resolvePointer(results.get(parsed.step), parsed.pointer);
    if (!hit.found) {
      throw new Error(
        `$ref ${JSON.stringify(ref)}: the result of step "${parsed.step}" has no value at ${JSON.stringify(parsed.pointer)}`,
      );
    }
    return hit.value;
  }
  if (Array.isArray(params)) return params.map((v) => substituteRefs(v, results));
  if (typeof params === 'object' && params !== null) {
    return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, substituteRefs(v, results)]));
  }
  return params;
}

/**
 * Checks the graph of `steps` (index i is /steps/i): keys unique and well formed, depends_on naming
 * known keys (not itself, no repeats), no cycle, and every $ref naming an ancestor (a step it
 * depends on, directly or not, so its result exists when the ref is resolved). Every problem is
 * reported at once, each naming its step; throws AppError 400.
 */
export function checkDag(steps: readonly StepShape[]): void {
  const problems: ErrorDetail[] = [];
  const problem = (i: number, field: string, message: string) =>
    problems.push({ path: `/steps/${i}${field}`, message, step: steps[i]?.key });
  const index = new Map<string, number>();
  steps.forEach((s, i) => {
    if (!STEP_KEY_PATTERN.test(s.key))
      problem(i, '/key', `step key ${JSON.stringify(s.key)} must match ${STEP_KEY_PATTERN.source}`);
    else if (index.has(s.key))
      problem(i, '/key', `step key "${s.key}" is used by steps ${index.get(s.key)} and ${i}`);
    else index.set(s.key, i);
  });
  steps.forEach((s, i) => {
    const seen = new Set<string>();
    for (const dep of s.dependsOn) {
      if (dep === s.key) problem(i, '/depends_on', `step "${s.key}" depends on itself`);
      else if (!index.has(dep)) problem(i, '/depends_on', `step "${s.key}" depends on unknown step "${dep}"`);
      else if (seen.has(dep)) problem(i, '/depends_on', `step "${s.key}" lists "${dep}" twice in depends_on`);
      seen.add(dep);
    }
  });
  if (problems.length === 0) {
    const cycle = findCycle(steps);
    if (cycle) {
      problems.push({
        path: `/steps/${index.get(cycle[0]!)}/depends_on`,
        message: `steps form a cycle: ${cycle.map((k) => `"${k}"`).join(' → ')}`,
        step: cycle[0],
        cycle,
      });
    }
  }
  if (problems.length === 0) {
    const byKey = new Map(steps.map((s) => [s.key, s]));
    steps.forEach((s, i) => {
      const refs = findRefs(s.params);
      // Only steps with refs pay for the walk over their ancestors.
      const ancestors = refs.length > 0 ? ancestorsOf(s.key, byKey) : new Set<string>();
      for (const { at, ref, parsed } of refs) {
        if (!parsed) {
          problem(
            i,
            `/params${at}`,
            `step "${s.key}": $ref ${JSON.stringify(ref)} is not of the form #/steps/<key>/result<pointer>`,
          );
        } else if (!index.has(parsed.step)) {
          problem(
            i,
            `/params${at}`,
            `step "${s.key}": $ref ${JSON.stringify(ref)} names unknown step "${parsed.step}"`,
          );
        } else if (!ancestors.has(parsed.step)) {
          problem(
            i,
            `/params${at}`,
            `step "${s.key}": $ref ${JSON.stringify(ref)} names step "${parsed.step}", which it does not depend on (directly or through other steps)`,
          );
        }
      }
    });
  }
  if (problems.length > 0) {
    throw AppError.badRequest(
      `invalid workflow: ${problems
        .slice(0, 5)
        .map((p) => p.message)
        .join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`,
      problems,
    );
  }
}

/** A cycle as a list of keys (first repeated at the end), or null. Iterative DFS: 5,000 deep is fine. */
export function findCycle(steps: readonly StepShape[]): string[] | null {
  const deps = new Map(steps.map((s) => [s.key, s.dependsOn]));
  const state = new Map<string, 1 | 2>(); // 1 on the stack, 2 done
  for (const root of steps) {
    if (state.has(root.key)) continue;
    const stack: Array<{ key: string; next: number }> = [{ key: root.key, next: 0 }];
    state.set(root.key, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const edges = deps.get(top.key) ?? [];
      if (top.next >= edges.length) {
        state.set(top.key, 2);
        stack.pop();
        continue;
      }
      const dep = edges[top.next++]!;
      const s = state.get(dep);
      if (s === 1) {
        const from = stack.findIndex((f) => f.key === dep);
        return [...stack.slice(from).map((f) => f.key), dep];
      }
      if (s === undefined) {
        state.set(dep, 1);
        stack.push({ key: dep, next: 0 });
      }
    }
  }
  return null;
}

/** Everything `key` depends on, transitively (a walk over depends_on; the graph is acyclic). */
function ancestorsOf(key: string, byKey: ReadonlyMap<string, StepShape>): Set<string> {
  const out = new Set<string>();
  const stack = [...(byKey.get(key)?.dependsOn ?? [])];
  while (stack.length > 0) {
    const k = stack.pop()!;
    if (out.has(k)) continue;
    out.add(k);
    stack.push(...(byKey.get(k)?.dependsOn ?? []));
  }
  return out;
}

/** The reverse edges: key → keys of the steps that depend on it (in step order). */
export function dependantsOf(steps: readonly StepShape[]): Map<string, string[]> {
  const out = new Map<string, string[]>(steps.map((s) => [s.key, []]));
  for (const s of steps) for (const d of s.dependsOn) out.get(d)?.push(s.key);
  return out;
}

/** Every step reachable from `roots` through dependants (roots excluded unless reachable). */
export function downstreamOf(
  roots: Iterable<string>,
  dependants: ReadonlyMap<string, readonly string[]>,
): Set<string> {
  const out = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    for (const d of dependants.get(stack.pop()!) ?? []) {
      if (!out.has(d)) {
        out.add(d);
        stack.push(d);
      }
    }
  }
  return out;
}
