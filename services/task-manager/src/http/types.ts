// Types shared by the HTTP layer: what createApp is given and the hono context variables.
import type { RequestIdVariables } from 'hono/request-id';
import type { DomainDeps } from '../domain/deps.js';

export interface AppDeps extends DomainDeps {
  /** BODY_LIMIT_BYTES (default 1 MiB). */
  bodyLimitBytes?: number;
  /** WORKER_DEAD_AFTER_MS: a worker silent for longer shows alive=false (default 15 s). */
  workerDeadAfterMs?: number;
  /** Group commit of concurrent POST /tasks: most tasks per transaction and transactions in flight. */
  groupCommit?: { maxBatch?: number; maxInFlight?: number };
}

export type AppEnv = { Variables: RequestIdVariables };
