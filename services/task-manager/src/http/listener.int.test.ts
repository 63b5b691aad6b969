// The manager's real listener under the bench's failure: an idle connection outlives the timeout it
// advertises, and a burst of new connections fits the kernel's accept queue.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ServerType } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { KEEP_ALIVE_ADVERTISED_MS, LISTEN_BACKLOG, listen } from '../server.js';

const servers: ServerType[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    if ('closeAllConnections' in s) s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function start(keepAlive?: { advertisedMs: number; closeMs: number }): Promise<number> {
  const server = await listen(() => new Response('ok'), '127.0.0.1', 0, keepAlive);
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

/** One raw connection: send a request, read one whole response (head and its 2-byte body "ok"). */
function connection(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let buffered = '';
  let closed = false;
  let wake: (() => void) | undefined;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    buffered += d;
    wake?.();
  });
  socket.on('close', () => {
    closed = true;
    wake?.();
  });
  socket.on('error', () => {});
  return {
    socket,
    async request(extraHeaders = ''): Promise<{ head: string } | 'closed'> {
      if (closed) return 'closed';
      socket.write(`GET /x HTTP/1.1\r\nHost: localhost\r\n${extraHeaders}\r\n`);
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end >= 0 && buffered.length >= end + 4 + 2) {
          const head = buffered.slice(0, end);
          buffered = buffered.slice(end + 6);
          return { head };
        }
        if (closed) return 'closed';
        await new Promise<void>((r) => (wake = r));
      }
    },
  };
}

const header = (head: string, name: string) =>
  head
    .split('\r\n')
    .find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    ?.slice(name.length + 1)
    .trim();

describe('keep-alive', () => {
  it('advertises Node’s 5 s by default and keeps an idle connection open longer', async () => {
    const port = await start();
    const c = connection(port);
    const first = await c.request();
    if (first === 'closed') throw new Error('connection closed before the first response');
    expect(header(first.head, 'keep-alive')).toBe(`timeout=${KEEP_ALIVE_ADVERTISED_MS / 1000}`);
    expect(first.head.match(/keep-alive:/gi)).toHaveLength(1); // Node adds no second one
    c.socket.destroy();
  });

  it('serves a request sent on a connection idle past the advertised timeout', async () => {
    // Scaled down: advertised 1 s, closed after 3 s. Node alone closes 1 s after what it advertises
    // (at 2 s here), and this second request would meet a closed socket.
    const port = await start({ advertisedMs: 1_000, closeMs: 3_000 });
    const c = connection(port);
    const first = await c.request();
    if (first === 'closed') throw new Error('connection closed before the first response');
    expect(header(first.head, 'keep-alive')).toBe('timeout=1');
    await new Promise((r) => setTimeout(r, 2_500));
    const second = await c.request();
    expect(second).not.toBe('closed');
    expect((second as { head: string }).head).toMatch(/^HTTP\/1\.1 200/);
    c.socket.destroy();
  });

  it('still closes an idle connection in the end, and honours Connection: close', async () => {
    const port = await start({ advertisedMs: 200, closeMs: 200 });
    const idle = connection(port);
    expect(await idle.request()).not.toBe('closed');
    await new Promise<void>((r) => idle.socket.once('close', () => r()));

    const once = connection(port);
    const res = await once.request('Connection: close\r\n');
    if (res === 'closed') throw new Error('connection closed before the response');
    expect(header(res.head, 'connection')).toBe('close');
    expect(header(res.head, 'keep-alive')).toBeUndefined();
  });
});

describe('listen backlog', () => {
  it('asks the kernel for a 4,096-connection accept queue (Node’s default 511 overflowed in a burst)', async () => {
    const port = await start();
    // The listening socket's Send-Q in `ss` is its backlog, as the kernel granted it (≤ somaxconn).
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    const out = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
    const sendQ = Number(out.trim().split(/\s+/)[2]);
    expect(sendQ).toBe(Math.min(LISTEN_BACKLOG, somaxconn));
    expect(sendQ).toBeGreaterThan(511);
  });
});
