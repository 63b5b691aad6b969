// The manager's Prometheus registry: every metric it exposes on GET /metrics, fed by the domain hooks and scrape-time reads.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { CreatedTask, EndedRun, MetricsHooks, RetentionKind } from '../domain/metrics-hooks.js';
import { LabelCap } from './label-cap.js';

/** One partition's lag as the Kafka side reads it (kafka/consumer-lag.ts). */
export interface LagRow {
  queue: string;
  partition: number;
  lag: number;
}

/** Values read when Prometheus scrapes, not on every change. Each is optional (Kafka off: no lag). */
export interface ScrapeSources {
  outboxBacklog?(): Promise<number>;
  aliveWorkers?(): Promise<number>;
  consumerLag?(): Promise<LagRow[]>;
}

export interface ManagerMetrics extends MetricsHooks {
  /** One HTTP request: hono route pattern (`/tasks/:id`, or `unmatched`), method, status. */
  httpRequest(method: string, route: string, status: number, seconds: number): void;
  /** Sources read at scrape time, set once the components that own them exist. */
  setSources(sources: ScrapeSources): void;
  /** The exposition, in Prometheus text format 0.0.4. */
  render(): Promise<string>;
  readonly contentType: string;
  /** Tests and the README check: every metric name with its label names. */
  describe(): Array<{ name: string; type: string; labels: string[] }>;
}

export interface ManagerMetricsOptions {
  logger: Logger;
  /** Distinct template (and queue) label values before `other` (default 1000). */
  maxLabelValues?: number;
  /** How long a consumer lag reading is reused (default 5 s): each read is several Kafka requests. */
  lagCacheMs?: number;
  /** A lag read slower than this is abandoned for this scrape (default 2 s), so a down broker cannot hang it. */
  lagTimeoutMs?: number;
  /** Epoch ms, for the lag cache (tests). */
  now?: () => number;
}

/** Task times span milliseconds (echo) to hours (long jobs). */
const TASK_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
/** Database commits, Kafka requests and HTTP requests: sub-millisecond to seconds. */
const IO_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LATENESS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'TIMED_OUT', 'CANCELED']);

/**
 * One registry per manager (never prom-client's global one: tests run several managers in one
 * process). Label sets are bounded: template and queue through LabelCap, status from the closed
 * list of task statuses, HTTP route as hono's pattern (never the raw path), partition from the topic.
 */
export function createManagerMetrics(opts: ManagerMetricsOptions): ManagerMetrics {
  const registry = new Registry();
  const templates = new LabelCap(opts.maxLabelValues ?? 1000);
  const queues = new LabelCap(opts.maxLabelValues ?? 1000);
  const lagCacheMs = opts.lagCacheMs ?? 5_000;
  const lagTimeoutMs = opts.lagTimeoutMs ?? 2_000;
  const now = opts.now ?? Date.now;
  const log = opts.logger.child({ component: 'metrics' });
  let sources: ScrapeSources = {};
  const registers = [registry];

  const created = new Counter({
    name: 'taskwire_tasks_created_total',
    help: 'Tasks created (API, batch, cron), by template and queue.',
    labelNames: ['template', 'queue'] as const,
    registers,
  });
  const finished = new Counter({
    name: 'taskwire_tasks_finished_total',
    help: 'Tasks that reached a terminal status (COMPLETED, FAILED, TIMED_OUT, CANCELED), by template, queue and status.',
    labelNames: ['template', 'queue', 'status'] as const,
    registers,
  });
  const runDuration = new Histogram({
    name: 'taskwire_task_run_duration_seconds',
    help: "Run time of each attempt (started_at to finished_at, manager's clock), by queue and the status it left the task in.",
    labelNames: ['queue', 'status'] as const,
    buckets: TASK_SECONDS,
    registers,
  });
  const queueWait = new Histogram({
    name: 'taskwire_task_queue_wait_seconds',
    help: 'Time an attempt waited from QUEUED to started, observed when the attempt ends, by queue.',
    labelNames: ['queue'] as const,
    buckets: TASK_SECONDS,
    registers,
  });
  const relayPublish = new Histogram({
    name: 'taskwire_relay_publish_seconds',
    help: 'Duration of each outbox relay produce request (acks=all).',
    buckets: IO_SECONDS,
    registers,
  });
  const relayMessages = new Counter({
    name: 'taskwire_relay_published_messages_total',
    help: 'Outbox rows the relay published (dispatches and control messages).',
    registers,
  });
  const resultApply = new Histogram({
    name: 'taskwire_result_apply_seconds',
    help: 'Duration of applying one batch of worker results in one unit of work.',
    buckets: IO_SECONDS,
    registers,
  });
  const resultMessages = new Counter({
    name: 'taskwire_results_applied_messages_total',
    help: 'Worker result messages applied (including ignored stale ones).',
    registers,
  });
  const cronLateness = new Histogram({
    name: 'taskwire_cron_fire_lateness_seconds',
    help: 'How long after its scheduled time a cron fire created its task.',
    buckets: LATENESS_SECONDS,
    registers,
  });
  const dlqTopics = new LabelCap(opts.maxLabelValues ?? 1000);
  const dlqIndexed = new Counter({
    name: 'taskwire_dlq_indexed_total',
    help: 'Dead letters the DLQ indexer stored (new rows only), by DLQ topic.',
    labelNames: ['topic'] as const,
    registers,
  });
  const dlqReplays = new Counter({
    name: 'taskwire_dlq_replays_total',
    help: 'Dead letters replayed to their source topic through POST /dlq/replay, by DLQ topic.',
    labelNames: ['topic'] as const,
    registers,
  });
  const retentionDeleted = new Counter({
    name: 'taskwire_retention_deleted_total',
    help: 'Rows the retention purge deleted, by kind: tasks, events, dead_letters, outbox (sent rows), workflows.',
    labelNames: ['kind'] as const,
    registers,
  });
  const http = new Histogram({
    name: 'taskwire_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: IO_SECONDS,
    registers,
  });
  /** `method route status` -> its series (as many as the histogram itself holds). */
  const httpSeries = new Map<string, { observe(seconds: number): void }>();
  new Gauge({
    name: 'taskwire_outbox_backlog',
    help: 'Outbox rows not yet published to Kafka (read at scrape time).',
    registers,
    async collect() {
      if (sources.outboxBacklog) this.set(await sources.outboxBacklog());
    },
  });
  new Gauge({
    name: 'taskwire_workers_alive',
    help: 'Workers whose last heartbeat is within WORKER_DEAD_AFTER_MS (read at scrape time).',
    registers,
    async collect() {
      if (sources.aliveWorkers) this.set(await sources.aliveWorkers());
    },
  });

  let lagCache: { at: number; rows: LagRow[] } | null = null;
  let lagRead: Promise<LagRow[]> | null = null;
  /**
   * The cached reading while fresh; else one read at a time (a scrape during a slow read waits for
   * the same one, and kafkajs' request timeout ends a read a dead broker never answers), each scrape
   * waiting at most lagTimeoutMs; null on failure or timeout.
   */
  async function consumerLag(read: () => Promise<LagRow[]>): Promise<LagRow[] | null> {
    if (lagCache && now() - lagCache.at < lagCacheMs) return lagCache.rows;
    lagRead ??= read()
      .then((rows) => {
        lagCache = { at: now(), rows };
        return rows;
      })
      .finally(() => {
        lagRead = null;
      });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), lagTimeoutMs);
    });
    try {
      return await Promise.race([lagRead, timeout]);
    } catch (err) {
      log.warn({ err }, 'consumer lag could not be read from Kafka; left out of this scrape');
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
  new Gauge({
    name: 'taskwire_worker_consumer_lag',
    help: "Messages of each queue's dispatch topic partition not yet committed by the workers' group (WORKER_GROUP_ID), cached for a few seconds.",
    labelNames: ['queue', 'partition'] as const,
    registers,
    async collect() {
      this.reset();
      if (!sources.consumerLag) return;
      // A stale or missing reading shows no series rather than a wrong number.
      for (const r of (await consumerLag(sources.consumerLag)) ?? []) {
        this.set({ queue: queues.value(r.queue), partition: String(r.partition) }, r.lag);
      }
    },
  });

  return {
    contentType: registry.contentType,
    tasksCreated(tasks: readonly CreatedTask[]) {
      // Grouped first: a batch of 1,000 tasks of one template is one increment, not 1,000.
      const counts = new Map<string, { template: string; queue: string; n: number }>();
      for (const t of tasks) {
        const key = `${t.template}\u0000${t.queue}`;
        const c = counts.get(key);
        if (c) c.n++;
        else counts.set(key, { template: t.template, queue: t.queue, n: 1 });
      }
      for (const c of counts.values()) {
        created.inc({ template: templates.value(c.template), queue: queues.value(c.queue) }, c.n);
      }
    },
    runsEnded(runs: readonly EndedRun[]) {
      for (const r of runs) {
        const queue = queues.value(r.queue);
        if (TERMINAL.has(r.status)) {
          finished.inc({ template: templates.value(r.template), queue, status: r.status });
        }
        if (r.runMs !== null) runDuration.observe({ queue, status: r.status }, r.runMs / 1000);
        if (r.queueWaitMs !== null) queueWait.observe({ queue }, r.queueWaitMs / 1000);
      }
    },
    cronFired(latenessMs: number) {
      cronLateness.observe(latenessMs / 1000);
    },
    relayPublished(messages: number, seconds: number) {
      relayPublish.observe(seconds);
      relayMessages.inc(messages);
    },
    resultsApplied(messages: number, seconds: number) {
      resultApply.observe(seconds);
      resultMessages.inc(messages);
    },
    deadLettersIndexed(topic: string, count: number) {
      dlqIndexed.inc({ topic: dlqTopics.value(topic) }, count);
    },
    dlqReplayed(topic: string, count: number) {
      dlqReplays.inc({ topic: dlqTopics.value(topic) }, count);
    },
    retentionDeleted(kind: RetentionKind, count: number) {
      retentionDeleted.inc({ kind }, count);
    },
    httpRequest(method: string, route: string, status: number, seconds: number) {
      // One labelled child per series, kept: prom-client's observe with a label object validates
      // and hashes the labels on every call, a noticeable share of a small request's CPU.
      const key = `${method} ${route} ${status}`;
      let series = httpSeries.get(key);
      if (series === undefined) {
        series = http.labels({ method, route, status: String(status) });
        httpSeries.set(key, series);
      }
      series.observe(seconds);
    },
    setSources(s: ScrapeSources) {
      sources = s;
    },
    render: () => registry.metrics(),
    describe: () =>
      registry.getMetricsAsArray().map((m) => {
        // labelNames is on every metric at run time, though not in prom-client's MetricObject type.
        const { labelNames } = m as unknown as { labelNames?: readonly string[] };
        return { name: m.name, type: String(m.type), labels: [...(labelNames ?? [])] };
      }),
  };
}
