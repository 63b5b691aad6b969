// What every domain function is given: the store, a clock, a logger, settings, wake-up signals, the schema compiler, metrics hooks.
import type { SchemaCompiler } from '@taskwire/json-schema';
import type { Logger } from 'pino';
import type { Store } from '../store/types.js';
import type { Clock } from './clock.js';
import type { PayloadLimits } from './limits.js';
import type { MetricsHooks } from './metrics-hooks.js';

export interface DomainSettings {
  /** Base dispatch topic (TASK_DISPATCH_TOPIC); queue q ≠ default uses `<topic>.q`. */
  dispatchTopic: string;
  /** Schema topic (TASK_SCHEMA_TOPIC, default DEFAULT_TOPICS.schemas): param_schemas by hash. */
  schemaTopic?: string;
  /** Control topic (TASK_CONTROL_TOPIC) for cancel requests to running tasks. */
  controlTopic: string;
  /** RESULT_TOPIC and WORKER_HEARTBEAT_TOPIC (default DEFAULT_TOPICS'): where replayed dead letters may go. */
  resultTopic?: string;
  heartbeatTopic?: string;
  /** KAFKA_MAX_MESSAGE_BYTES (default DEFAULT_MAX_MESSAGE_BYTES): a larger replay is refused. */
  maxMessageBytes?: number;
  /** Size caps on params, results and errors (default DEFAULT_PAYLOAD_LIMITS). */
  limits?: PayloadLimits;
}

/**
 * In-process wake-ups so that loops never wait on a poll interval for work another component just
 * created. Each is cheap and may be called often; the listener coalesces.
 */
export interface Signals {
  /** New outbox rows were committed: the relay should publish now. */
  outboxWritten(): void;
  /** A task became due at `at` (delayed task, retry backoff): the due-loop may need to wake earlier. */
  dueAt(at: Date): void;
  /** A template was created, changed or deleted: the cron scheduler should re-read it. */
  templatesChanged(): void;
  /**
   * Tasks of `queue` may be admitted (some became WAITING, or a slot freed, or a limit rose): the
   * admission loop should run for it now. `keys`: only slots of these concurrency keys freed (in a
   * queue without max_in_flight only their own waiting tasks can take them). Optional: without it
   * the periodic sweep admits them.
   */
  admit?(queue: string, keys?: readonly string[]): void;
}

export const noSignals: Signals = { outboxWritten() {}, dueAt() {}, templatesChanged() {} };

export interface DomainDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  settings: DomainSettings;
  signals: Signals;
  /**
   * Compiles users' JSON Schemas within SCHEMA_MAX_*; one per process, so that its cache is shared.
   * Absent (tests): one with the default limits.
   */
  schemas?: SchemaCompiler;
  /** Counters and timings for GET /metrics, reported after each commit. Absent (tests): none. */
  metrics?: MetricsHooks;
}
