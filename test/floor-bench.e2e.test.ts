// The design's floor (bench/floor/manager.mjs) in the manager's place in bench/pipeline.mjs, on a tiny
// workload: the real worker runs every task it dispatches and it applies every result, so its figures
// are those of a working pipeline. It must follow the dispatch contract as the worker reads it; this
// breaks when it stops doing so. No timing thresholds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { runBench, startNode, tempDir } from './support/processes.js';

const TASKS = 300;
const RATE = 50;

interface Leg {
  tasks: number;
  completed: number;
  cpu_us_by_process: Record<string, number>;
}
type Result = { runs: Array<{ workers: number; throughput: Leg; latency: Leg & { p99_ms: number } }> };
type Run = Awaited<ReturnType<typeof runBench<Result>>>;
let plain: Run;
let keyed: Run;
const tmp = tempDir('floor-bench');

/** The pipeline bench with the floor as its manager; `env` on top. */
const floorBench = (env: Record<string, string> = {}) =>
  runBench<Result>(
    'bench/pipeline.mjs',
    tmp.dir,
    { tasks: TASKS, rate: RATE },
    {
      BENCH_MANAGER: 'bench/floor/manager.mjs',
      // A floor that stops following the contract leaves tasks undone: the bench says so, and stops its stack.
      BENCH_COMPLETE_TIMEOUT_MS: '45000',
      ...env,
    },
  );

beforeAll(async () => {
  plain = await floorBench();
  // Its per-key admission: 5 keys, limit 2, so most tasks wait and are admitted as results free slots.
  keyed = await floorBench({ BENCH_KEYS: '5', BENCH_KEY_LIMIT: '2' });
}, 180_000);

afterAll(() => tmp.cleanup());

describe('bench/pipeline.mjs with BENCH_MANAGER=bench/floor/manager.mjs', () => {
  it('completes every bulk and every single-POST task through the real worker', () => {
    expect(plain.code, plain.output).toBe(0);
    const [run] = plain.result!.runs;
    expect(run!.workers).toBe(1);
    expect(run!.throughput).toMatchObject({ tasks: TASKS, completed: TASKS });
    expect(run!.latency).toMatchObject({ tasks: RATE, completed: RATE });
    expect(run!.latency.p99_ms).toBeGreaterThanOrEqual(0);
  });

  it('with a keyed template, admits every waiting task as slots free (a leaked slot would leave tasks undone)', () => {
    expect(keyed.code, keyed.output).toBe(0);
    const [run] = keyed.result!.runs;
    expect(run!.throughput).toMatchObject({ tasks: TASKS, completed: TASKS });
    expect(run!.latency).toMatchObject({ tasks: RATE, completed: RATE });
  });

  it('stops, naming the setting, when the floor refuses the keyed template (a concurrency_limit of 0)', async () => {
    const bad = await floorBench({ BENCH_KEYS: '5', BENCH_KEY_LIMIT: '0' });
    expect(bad.code).not.toBe(0);
    expect(bad.output).toContain('POST /templates failed: 400');
    expect(bad.output).toContain('concurrency_limit must be an integer of at least 1, got 0');
  });

  it('measures the floor manager as the manager process (its CPU is counted, not the real one)', () => {
    expect(plain.code, plain.output).toBe(0);
    const [run] = plain.result!.runs;
    expect(run!.throughput.cpu_us_by_process.manager).toBeGreaterThan(0);
    expect(run!.throughput.cpu_us_by_process.workers).toBeGreaterThan(0);
  });

  it('refuses a setting that is not a number, naming it, before starting anything', async () => {
    for (const [name, value, message] of [
      [
        'BENCH_COMPLETE_TIMEOUT_MS',
        'soon',
        'BENCH_COMPLETE_TIMEOUT_MS must be a non-negative number, got "soon"',
      ],
      ['BENCH_WORKERS', '1,x', 'BENCH_WORKERS must be worker counts separated by commas, e.g. 1,2; got 1,x'],
    ]) {
      const bench = startNode('pipeline-bench-bad-setting', 'bench/pipeline.mjs', {
        BENCH_MANAGER: 'bench/floor/manager.mjs',
        [name!]: value!,
        BENCH_OUT: path.join(tmp.dir, 'never.json'),
      });
      const { code } = await bench.exited;
      expect(code).not.toBe(0);
      expect(bench.output()).toContain(message);
    }
  });
});
