// Unit tests of the DAG rules: keys and edges, cycles, $ref parsing, resolution and the ancestor rule.
import { describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import {
  checkDag,
  dependantsOf,
  downstreamOf,
  findCycle,
  findRefs,
  parseRef,
  resolvePointer,
  substituteRefs,
} from './workflow-dag.js';
import type { StepShape } from './workflow-dag.js';

const step = (key: string, dependsOn: string[] = [], params: unknown = {}): StepShape => ({
  key,
  dependsOn,
  params,
});

function problems(steps: StepShape[]): string[] {
  try {
    checkDag(steps);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return ((err as AppError).details as Array<{ message: string }>).map((d) => d.message);
  }
}

describe('checkDag', () => {
  it('accepts a diamond and a chain of 5,000 steps', () => {
    expect(problems([step('a'), step('b', ['a']), step('c', ['a']), step('d', ['b', 'c'])])).toEqual([]);
    const chain = Array.from({ length: 5_000 }, (_, i) => step(`s${i}`, i === 0 ? [] : [`s${i - 1}`]));
    chain.push(step('end', ['s4999'], { v: { $ref: '#/steps/s0/result' } }));
    expect(problems(chain)).toEqual([]);
  });

  it('reports every bad key and edge at once, each naming its step', () => {
    expect(
      problems([step('a'), step('a'), step('b', ['b']), step('c', ['zz', 'a', 'a']), step('bad key')]),
    ).toEqual([
      'step key "a" is used by steps 0 and 1',
      'step key "bad key" must match ^[A-Za-z0-9_.-]{1,200}$',
      'step "b" depends on itself',
      'step "c" depends on unknown step "zz"',
      'step "c" lists "a" twice in depends_on',
    ]);
  });

  it('names the steps of a cycle', () => {
    expect(problems([step('x'), step('a', ['c']), step('b', ['a']), step('c', ['b'])])).toEqual([
      'steps form a cycle: "a" → "c" → "b" → "a"',
    ]);
    expect(findCycle([step('a'), step('b', ['a'])])).toBeNull();
  });

  it('requires a $ref to name an ancestor, transitively, in the #/steps/<key>/result form', () => {
    const ok = [
      step('a'),
      step('b', ['a']),
      step('c', ['b'], { deep: [{ v: { $ref: '#/steps/a/result/x' } }] }),
    ];
    expect(problems(ok)).toEqual([]);
    expect(
      problems([
        step('a'),
        step('b'),
        step('c', ['a'], { v: { $ref: '#/steps/b/result' }, w: { $ref: '#/steps/q/result' } }),
        step('d', ['a'], { v: { $ref: '#/steps/a/output' } }),
      ]),
    ).toEqual([
      'step "c": $ref "#/steps/b/result" names step "b", which it does not depend on (directly or through other steps)',
      'step "c": $ref "#/steps/q/result" names unknown step "q"',
      'step "d": $ref "#/steps/a/output" is not of the form #/steps/<key>/result<pointer>',
    ]);
  });
});

describe('$ref', () => {
  it('parses the step and the pointer; only an object with exactly one $ref string is a ref', () => {
    expect(parseRef('#/steps/a/result')).toEqual({ step: 'a', pointer: '' });
    expect(parseRef('#/steps/a/result/x/0')).toEqual({ step: 'a', pointer: '/x/0' });
    expect(parseRef('#/steps/a/resultx')).toBeNull();
    expect(parseRef('#/other/a/result')).toBeNull();
    expect(findRefs({ a: { $ref: '#/steps/s/result', other: 1 }, b: [{ $ref: 5 }] })).toEqual([]);
    expect(findRefs({ 'a/b': [{ $ref: '#/steps/s/result' }] }).map((r) => r.at)).toEqual(['/a~1b/0']);
  });

  it('resolves JSON pointers (escapes, arrays) and substitutes refs anywhere in params', () => {
    const doc = { 'a/b': { '~k': [10, 20] } };
    expect(resolvePointer(doc, '/a~1b/~0k/1')).toEqual({ found: true, value: 20 });
    expect(resolvePointer(doc, '/a~1b/~0k/2')).toEqual({ found: false });
    expect(resolvePointer([1], '/01')).toEqual({ found: false });
    const results = new Map<string, unknown>([['s', { n: 3, list: ['x'] }]]);
    expect(
      substituteRefs(
        { keep: 1, n: { $ref: '#/steps/s/result/n' }, nested: [{ v: { $ref: '#/steps/s/result/list/0' } }] },
        results,
      ),
    ).toEqual({ keep: 1, n: 3, nested: [{ v: 'x' }] });
    expect(() => substituteRefs({ v: { $ref: '#/steps/s/result/nope' } }, results)).toThrow(
      '"#/steps/s/result/nope": the result of step "s" has no value at "/nope"',
    );
    expect(() => substituteRefs({ v: { $ref: '#/steps/t/result' } }, results)).toThrow(
      'step "t" has no result',
    );
  });
});

describe('edges', () => {
  it('inverts depends_on and walks everything downstream of a failed step', () => {
    const steps = [step('a'), step('b', ['a']), step('c', ['b']), step('d'), step('e', ['d', 'c'])];
    const dependants = dependantsOf(steps);
    expect(Object.fromEntries(dependants)).toEqual({ a: ['b'], b: ['c'], c: ['e'], d: ['e'], e: [] });
    expect([...downstreamOf(['b'], dependants)].sort()).toEqual(['c', 'e']);
    expect([...downstreamOf(['e'], dependants)]).toEqual([]);
  });
});
