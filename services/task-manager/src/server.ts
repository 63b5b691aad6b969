// Composition of one manager: store, migrations, domain deps, metrics registry, background components and the HTTP server.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Server as HttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { ServerType } from '@hono/node-server';
import { SchemaCompiler } from '@taskwire/json-schema';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Clock } from './domain/clock.js';
import { systemClock } from './domain/clock.js';
import type { DomainDeps, Signals } from './domain/deps.js';
import { publishTemplateSchemas } from './domain/schema-refs.js';
import { createEventHub } from './events/hub.js';
import { createApp } from './http/app.js';
import { resolveAuth } from './http/auth-setup.js';
import { createManagerKafka } from './kafka/index.js';
import { createManagerMetrics } from './metrics/index.js';
import type { LagRow } from './metrics/index.js';
import { createScheduler } from './scheduler/index.js';
import { createTaskPurge } from './scheduler/task-purge.js';
import type { AppDeps } from './http/types.js';
import { createStore } from './store/index.js';

export { createApp };
export type { AppDeps };

/** A background part of the manager (outbox relay, result consumer, scheduler…). */
export interface Component {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface RunningManager {
  url: string;
  port: number;
  deps: DomainDeps;
  /** Stops accepting requests, lets in-flight ones finish, stops components, closes the store. */
  stop(): Promise<void>;
}

export type SignalName = keyof Signals;

/** Signals as events: domain code calls them, components subscribe with `bus.on(name, fn)`. */
export function createSignalBus(): { signals: Signals; bus: EventEmitter } {
  const bus = new EventEmitter();
  bus.setMaxListeners(50);
  return {
    bus,
    signals: {
      outboxWritten: () => void bus.emit('outboxWritten'),
      dueAt: (at: Date) => void bus.emit('dueAt', at),
      templatesChanged: () => void bus.emit('templatesChanged'),
      admit: (queue: string, keys?: readonly string[]) => void bus.emit('admit', queue, keys),
    },
  };
}

/** How long stop() lets in-flight requests finish before cutting connections. */
const DRAIN_MS = 5_000;

export async function startManager(
  config: Config,
  opts: { logger: Logger; clock?: Clock },
): Promise<RunningManager> {
  const logger = opts.logger;
  // First, so a manager that must not serve opens nothing (throws ConfigError).
  const auth = resolveAuth(config);
  if (auth.mode === 'off') {
    logger.warn(
      { addr: config.server.addr, reason: auth.reason },
      auth.reason === 'loopback'
        ? `authentication is off: no API_TOKENS, so the API answers anyone on this machine (SERVER_ADDR ${config.server.addr} is loopback only)`
        : `authentication is off (AUTH_DISABLED=1): anyone who can reach ${config.server.addr} can do anything`,
    );
  }
  const store = await createStore({
    dbType: config.db.type,
    dsn: config.db.dsn,
    poolSize: config.db.poolSize,
    queueLimit: config.db.queueLimit,
    logger,
  });
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  const { signals, bus } = createSignalBus();
  // One registry per manager, never prom-client's global one: tests run several managers per process.
  const metrics = createManagerMetrics({ logger });
  const deps: AppDeps = {
    store,
    clock: opts.clock ?? systemClock,
    logger,
    settings: {
      dispatchTopic: config.kafka.topics.dispatch,
      controlTopic: config.kafka.topics.control,
      resultTopic: config.kafka.topics.results,
      heartbeatTopic: config.kafka.topics.heartbeats,
      schemaTopic: config.kafka.topics.schemas,
      maxMessageBytes: config.kafka.maxMessageBytes,
      limits: config.limits,
    },
    signals,
    metrics,
    metricsRegistry: metrics,
    schemas: new SchemaCompiler({ limits: config.schemaLimits }),
    bodyLimitBytes: config.bodyLimitBytes,
    workerDeadAfterMs: config.workerDeadAfterMs,
    apiTokens: auth.mode === 'tokens' ? auth.tokens : [],
    // SQLite has one writer: one transaction at a time, as large as the queue. MySQL commits in parallel.
    groupCommit: {
      maxBatch: 500,
      maxInFlight: config.db.type === 'mysql' ? 4 : 1,
      minIntervalMs: config.createCommitIntervalMs,
    },
  };

  if (config.kafka.enabled) {
    // Dispatches name schemas by hash: make sure every template's schema is on the schema topic
    // (templates from before, a lost message). Idempotent; through the outbox, so never lost.
    try {
      await publishTemplateSchemas(deps);
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
  }

  const hub = createEventHub({
    store,
    logger,
    pollMs: config.events.pollMs,
    gapGraceMs: config.events.gapGraceMs,
    bufferLimit: config.events.bufferLimit,
  });
  deps.events = { hub, heartbeatMs: config.events.heartbeatMs };
  // Most events are written with outbox rows: poll at once rather than at the next tick.
  bus.on('outboxWritten', () => hub.wake());
  const components: Component[] = [hub];
  let consumerLag: (() => Promise<LagRow[]>) | undefined;
  if (config.kafka.enabled) {
    const kafka = createManagerKafka(deps, {
      brokers: config.kafka.brokers,
      topics: config.kafka.topics,
      resultGroupId: config.kafka.resultGroupId,
      partitions: config.kafka.partitions,
      sessionTimeoutMs: config.kafka.sessionTimeoutMs,
      maxMessageBytes: config.kafka.maxMessageBytes,
      relayLingerMs: config.kafka.relayLingerMs,
      resultLingerMs: config.kafka.resultLingerMs,
    });
    bus.on('outboxWritten', () => kafka.relay.wake());
    components.push(...kafka.components);
    consumerLag = () => kafka.consumerLag(config.kafka.workerGroupId);
    deps.consumerLag = consumerLag;
  }
  metrics.setSources({
    outboxBacklog: () => store.countUnsentOutbox(),
    aliveWorkers: async () => {
      const now = deps.clock.now().getTime();
      const workers = await store.listWorkers();
      return workers.filter(
        (w) => w.stoppedAt === null && now - w.lastSeen.getTime() < config.workerDeadAfterMs,
      ).length;
    },
    ...(consumerLag ? { consumerLag } : {}),
  });
  // Retention runs whatever SCHEDULER_ENABLED says; the lease keeps it to one replica at a time.
  components.push(
    createTaskPurge(deps, {
      retentionDays: config.retention.days,
      intervalMs: config.retention.intervalMs,
      batch: config.retention.batch,
      owner: `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
    }),
  );
  // With KAFKA_ENABLED=0 nothing publishes: the outbox accumulates until a manager with Kafka runs.
  if (config.schedulerEnabled) {
    const scheduler = createScheduler(deps, {
      watchdog: { graceMs: config.timeoutGraceMs },
      admission: { sweepMs: config.admissionSweepMs },
    });
    bus.on('admit', (queue: string, keys?: readonly string[]) => scheduler.admit(queue, keys));
    bus.on('templatesChanged', () => scheduler.templatesChanged());
    bus.on('dueAt', (at: Date) => scheduler.wake(at));
    components.push(scheduler);
  }
  const started: Component[] = [];
  try {
    for (const c of components) {
      await c.start();
      started.push(c);
    }
  } catch (err) {
    for (const c of started.reverse()) await c.stop().catch(() => {});
    await store.close().catch(() => {});
    throw err;
  }

  const app = createApp(deps);
  const server = await listen(app.fetch, config.server.host, config.server.port);
  const port = (server.address() as AddressInfo).port;
  const shownHost = ['', '0.0.0.0', '::'].includes(config.server.host) ? '127.0.0.1' : config.server.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // First: open event streams end now (clients resume elsewhere) instead of holding the drain.
      await hub.stop();
      await closeServer(server);
      for (const c of [...started].reverse()) {
        await c.stop().catch((err: unknown) => logger.error({ err }, 'component failed to stop'));
      }
      await store.close();
    })();
    return stopping;
  };
  return { url, port, deps, stop };
}

/**
 * An idle keep-alive connection is said to stay open 5 s (`Keep-Alive: timeout=5`, Node's default)
 * and really stays open 30 s. Node 20 closes an idle connection 1 s after the time it advertises;
 * undici (behind fetch) drops one 1 s before it, on ~1 s timers: a 2 s margin that a client whose
 * event loop lags overruns (the open-loop bench on a loaded machine), writing a request on a
 * connection whose close is already on its way. A POST is not retried: it fails with `other side
 * closed`. Honouring clients still drop the connection at 5 s; the server closes it 25 s later.
 */
export const KEEP_ALIVE_ADVERTISED_MS = 5_000;
export const KEEP_ALIVE_CLOSE_MS = 30_000;

/**
 * Connections the kernel may hold for the manager before it accepts them (Linux caps it at
 * net.core.somaxconn, 4096 by default). Node's default, 511, was the cause of the bench's failed
 * single POSTs (ECONNRESET, and nothing in the manager's log): an open-loop client opens one
 * connection per request in flight, so a stall of the manager's event loop of a few hundred ms at
 * 1,000 POST/s overflowed the accept queue; the kernel fell back to SYN cookies and reset what it
 * could not take (`nstat`: TcpExtListenOverflows, TcpExtSyncookiesFailed = the failed requests).
 */
export const LISTEN_BACKLOG = 4_096;

export function listen(
  fetch: (req: Request) => Response | Promise<Response>,
  host: string,
  port: number,
  keepAlive: { advertisedMs: number; closeMs: number } = {
    advertisedMs: KEEP_ALIVE_ADVERTISED_MS,
    closeMs: KEEP_ALIVE_CLOSE_MS,
  },
): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const hostname = host === '' ? undefined : host;
    const server = createAdaptorServer({ fetch, hostname });
    if (server instanceof HttpServer) {
      server.keepAliveTimeout = keepAlive.closeMs;
      const header = `timeout=${Math.floor(keepAlive.advertisedMs / 1000)}`;
      // Node derives its Keep-Alive header from keepAliveTimeout; with our own Connection header it
      // writes none, so the client is told the advertised time. Only on a connection Node keeps
      // open anyway (not HTTP/1.0 without keep-alive, not `Connection: close`).
      server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
        if (!res.shouldKeepAlive) return;
        res.setHeader('Connection', 'keep-alive');
        res.setHeader('Keep-Alive', header);
      });
    }
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve(server);
    });
    server.listen({ port, host: hostname, backlog: LISTEN_BACKLOG });
  });
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      if ('closeAllConnections' in server) server.closeAllConnections();
    }, DRAIN_MS);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    if ('closeIdleConnections' in server) server.closeIdleConnections();
  });
}
