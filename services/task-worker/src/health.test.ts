// The worker's probe server: /healthz and /readyz always, /metrics only when given the registry (METRICS_ADDR).
import { afterEach, describe, expect, it } from 'vitest';
import { startHealthServer } from './health.js';
import type { HealthServer } from './health.js';
import { createWorkerMetrics } from './metrics.js';

const servers: HealthServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(withMetrics: boolean): Promise<string> {
  const metrics = withMetrics
    ? createWorkerMetrics({ executors: ['echo'], running: () => 3, processMetrics: false })
    : undefined;
  const server = await startHealthServer({ host: '127.0.0.1', port: 0 }, () => ({ ready: true }), metrics);
  servers.push(server);
  return `http://127.0.0.1:${server.port}`;
}

describe('the worker probe server', () => {
  it('serves /metrics beside the probes when it is the METRICS_ADDR server', async () => {
    const url = await start(true);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toMatch(/^taskwire_worker_running_tasks 3$/m);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('answers 404 for /metrics on a HEALTH_ADDR-only server', async () => {
    const url = await start(false);
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
  });
});
