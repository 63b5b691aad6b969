// The worker's Prometheus registry (METRICS_ADDR): executor durations, running tasks, fetch-to-start delay, Node process metrics.
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DispatchMessage } from '@taskwire/contracts';
import type { RunOutcome } from './runner/index.js';

type Run = (message: DispatchMessage, executed: () => void, fetchedAt: number) => Promise<RunOutcome>;

export interface WorkerMetrics {
  /** `run` timed: its executor duration by executor and outcome, and its wait since the fetch. */
  instrument(run: Run): Run;
  /** The exposition, in Prometheus text format 0.0.4. */
  render(): Promise<string>;
  readonly contentType: string;
  /** Every metric name with its label names (README check). */
  describe(): Array<{ name: string; type: string; labels: string[] }>;
}

/** Label of a dispatch naming an executor this worker does not have (any string may arrive). */
export const UNKNOWN_EXECUTOR = 'unknown';

const TASK_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const WAIT_SECONDS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60];

/**
 * One registry per worker (tests run several in one process). Labels are bounded: executor is one
 * of the registry's names or `unknown`, outcome one of the five run outcomes.
 */
export function createWorkerMetrics(opts: {
  executors: readonly string[];
  running: () => number;
  /** prom-client's default process and Node metrics (default true; tests of one process turn them off). */
  processMetrics?: boolean;
}): WorkerMetrics {
  const registry = new Registry();
  const registers = [registry];
  const known = new Set(opts.executors);
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const executorDuration = new Histogram({
    name: 'taskwire_worker_executor_duration_seconds',
    help: 'Time from a task starting on this worker until its executor is done, by executor and outcome.',
    labelNames: ['executor', 'outcome'] as const,
    buckets: TASK_SECONDS,
    registers,
  });
  const fetchToStart = new Histogram({
    name: 'taskwire_worker_fetch_to_start_seconds',
    help: 'Time a fetched dispatch waited for a free slot (WORKER_CONCURRENCY) before it started.',
    buckets: WAIT_SECONDS,
    registers,
  });
  new Gauge({
    name: 'taskwire_worker_running_tasks',
    help: 'Tasks running on this worker now.',
    registers,
    collect() {
      this.set(opts.running());
    },
  });

  return {
    contentType: registry.contentType,
    instrument: (run) => (message, executed, fetchedAt) => {
      const start = performance.now();
      fetchToStart.observe(Math.max(0, start - fetchedAt) / 1000);
      let seconds: number | null = null;
      const executor = known.has(message.executor) ? message.executor : UNKNOWN_EXECUTOR;
      const result = run(
        message,
        () => {
          seconds ??= (performance.now() - start) / 1000;
          executed();
        },
        fetchedAt,
      );
      // The outcome is known once the result is published; the duration was taken when the executor ended.
      void result.then(
        (outcome) =>
          executorDuration.observe({ executor, outcome }, seconds ?? (performance.now() - start) / 1000),
        () => undefined,
      );
      return result;
    },
    render: () => registry.metrics(),
    describe: () =>
      registry.getMetricsAsArray().map((m) => {
        const { labelNames } = m as unknown as { labelNames?: readonly string[] };
        return { name: m.name, type: String(m.type), labels: [...(labelNames ?? [])] };
      }),
  };
}
