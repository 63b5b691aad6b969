// Small helpers every bench script shares: numeric settings from the environment, sleeping, a free
// loopback port, polling a condition, whether a port accepts connections, and a JSON POST.
import { connect, createServer } from 'node:net';

/** A non-negative number from env var `name` (`dflt` when unset); anything else stops the bench naming it. */
export function envNumber(name, dflt) {
  const v = Number(process.env[name] ?? dflt);
  if (process.env[name] === '' || !Number.isFinite(v) || v < 0)
    throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(process.env[name])}`);
  return v;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Polls `fn` every 50 ms until it returns truthy (a throw counts as "not yet"); throws naming
 * `what` after `timeoutMs`. Every bench uses the same step, so they time completion alike.
 */
export async function waitUntil(what, fn, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await fn()) return;
    } catch {
      // not yet
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` right now. */
export const portOpen = (port) =>
  new Promise((resolve) =>
    connect(port, '127.0.0.1')
      .on('connect', function () {
        this.destroy();
        resolve(true);
      })
      .on('error', () => resolve(false)),
  );

/** POSTs `body` as JSON and returns the parsed answer; a non-2xx answer throws with its status and body. */
export async function postJson(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return res.json();
}
