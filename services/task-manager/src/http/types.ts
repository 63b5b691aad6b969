// Types shared by the HTTP layer: what createApp is given and the hono context variables.
import type { RequestIdVariables } from 'hono/request-id';
import type { DomainDeps } from '../domain/deps.js';
import type { ManagerMetrics } from '../metrics/index.js';
import type { EventHub } from '../events/hub.js';
import type { ApiToken, Scope } from './auth-tokens.js';

export interface AppDeps extends DomainDeps {
  /** BODY_LIMIT_BYTES (default 1 MiB). */
  bodyLimitBytes?: number;
  /** WORKER_DEAD_AFTER_MS: a worker silent for longer shows alive=false (default 15 s). */
  workerDeadAfterMs?: number;
  /**
   * Group commit of concurrent POST /tasks: most tasks per transaction, transactions in flight,
   * requests that may wait (more get 503; default 10,000), and the least time between two commits
   * (CREATE_COMMIT_INTERVAL_MS; default 0 here).
   */
  groupCommit?: { maxBatch?: number; maxInFlight?: number; maxQueued?: number; minIntervalMs?: number };
  /** API_TOKENS (+ API_TOKENS_FILE): with none, authentication is off (startManager allows that on loopback only). */
  apiTokens?: readonly ApiToken[];
  /**
   * The registry behind GET /metrics and the request timer (startManager passes the same object as
   * the domain's `metrics` hooks). Absent (tests): /metrics is 404 and requests are not timed.
   */
  metricsRegistry?: ManagerMetrics;
  /** Where the dashboard's files are (default: the package's ui/ folder). */
  uiDir?: string;
  /** The live event fan-out behind /events/stream (absent: those routes answer 503); SSE_HEARTBEAT_MS. */
  events?: { hub: EventHub; heartbeatMs?: number };
  /** The workers' group lag per queue topic partition (GET /queues, GET /stats/overview); absent when Kafka is off. */
  consumerLag?: () => Promise<ReadonlyArray<{ queue: string; lag: number }>>;
}

/** `scope`: the caller's token scope, set by requireToken; unset when authentication is off. */
export type AppEnv = { Variables: RequestIdVariables & { scope?: Scope } };
