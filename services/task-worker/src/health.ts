// HEALTH_ADDR: GET /healthz (the process is up) and GET /readyz (connected to Kafka and consuming); on METRICS_ADDR also GET /metrics.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthServer {
  /** The bound port (the configured one, or the one picked for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves the two probes with node:http: a worker has no HTTP API, so no framework. `/readyz` answers
 * 200 `{"status":"ready"}` or 503 `{"status":"unavailable","reason":…}` from `status()`.
 */
export async function startHealthServer(
  addr: { host: string; port: number },
  status: () => { ready: boolean; reason?: string },
  metrics?: { render(): Promise<string>; readonly contentType: string },
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (metrics && path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      metrics.render().then(
        (text) => {
          res.writeHead(200, {
            'content-type': metrics.contentType,
            'content-length': Buffer.byteLength(text),
          });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        () => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('metrics could not be collected\n');
        },
      );
      return;
    }
    let code = 404;
    let body: Record<string, unknown> = { status: 'not_found' };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      code = 405;
      body = { status: 'method_not_allowed' };
    } else if (path === '/healthz') {
      code = 200;
      body = { status: 'ok' };
    } else if (path === '/readyz') {
      const s = status();
      code = s.ready ? 200 : 503;
      body = s.ready ? { status: 'ready' } : { status: 'unavailable', reason: s.reason ?? 'not ready' };
    }
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host || undefined, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Probes must not keep a stopping worker alive.
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
