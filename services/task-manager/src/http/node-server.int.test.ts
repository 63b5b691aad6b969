// Requests through a real @hono/node-server listener: direct reads of Content-Length bodies, the limits, request ids.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createTestSqliteFile } from '@taskwire/testkit';
import { systemClock } from '../domain/clock.js';
import { noSignals } from '../domain/deps.js';
import { createSqliteStore } from '../store/sqlite/index.js';
import type { Store } from '../store/types.js';
import { createApp } from './app.js';

let store: Store;
let server: ServerType;
let url: string;
let cleanup: () => void;

beforeAll(async () => {
  const db = createTestSqliteFile();
  cleanup = db.cleanup;
  store = createSqliteStore({ file: db.file });
  await store.migrate();
  const app = createApp({
    store,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    settings: { dispatchTopic: 'dispatch', controlTopic: 'control' },
    signals: noSignals,
    bodyLimitBytes: 4096,
  });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await store.close();
  cleanup();
});

const post = (body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) =>
  fetch(`${url}/templates`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    duplex: 'half',
  } as RequestInit);

const chunked = (...parts: string[]) =>
  new ReadableStream<Uint8Array>({
    start(ctl) {
      for (const p of parts) ctl.enqueue(new TextEncoder().encode(p));
      ctl.close();
    },
  });

/**
 * One POST /templates over a raw socket, its bytes written in `packets` one after another, each
 * only once the previous one has left (so the body reaches the server after the headers); resolves
 * with the status line's code and the answer's body.
 */
function rawPost(packets: Array<string | Buffer>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const { port } = server.address() as AddressInfo;
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => {
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      resolve({ status: Number(head.slice(9, 12)), body });
    });
    socket.on('error', reject);
    const send = (i: number): void => {
      if (i < packets.length)
        socket.write(packets[i] as string | Buffer, () => setImmediate(() => send(i + 1)));
    };
    socket.once('connect', () => send(0));
  });
}

const head = (length: number) =>
  `POST /templates HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;

describe('bodies over a real listener', () => {
  it('reads a Content-Length body, multi-byte UTF-8 and a leading BOM included', async () => {
    const res = await post('\uFEFF' + JSON.stringify({ name: 'bücher-☃', executor: 'echo' }));
    expect(res.status).toBe(201);
    expect(((await res.json()) as { name: string }).name).toBe('bücher-☃');
  });

  it('reads a Content-Length body whether it comes with the headers or in later packets', async () => {
    const one = JSON.stringify({ name: 'one-packet-tpl', executor: 'echo' });
    const together = await rawPost([head(Buffer.byteLength(one)) + one]);
    expect(together.status).toBe(201);
    expect((JSON.parse(together.body) as { name: string }).name).toBe('one-packet-tpl');
    const later = JSON.stringify({ name: 'later-packets-tpl-☃', executor: 'echo' });
    const bytes = Buffer.from(later);
    const split = await rawPost([
      head(bytes.length),
      bytes.subarray(0, bytes.indexOf(0xe2) + 1), // in the middle of the snowman's UTF-8 bytes
      bytes.subarray(bytes.indexOf(0xe2) + 1),
    ]);
    expect(split.status).toBe(201);
    expect((JSON.parse(split.body) as { name: string }).name).toBe('later-packets-tpl-☃');
  });

  it('refuses an empty Content-Length body as invalid_json, in one packet or after the headers', async () => {
    for (const packets of [[head(0)], [head(2), '  ']]) {
      const res = await rawPost(packets);
      expect(res.status).toBe(400);
      expect((JSON.parse(res.body) as { error: { code: string } }).error.code).toBe('invalid_json');
    }
  });

  it('reads a chunked body without Content-Length', async () => {
    const res = await post(chunked('{"name": "chunked-tpl", ', '"executor": "echo"}'));
    expect(res.status).toBe(201);
  });

  it('refuses a body over the limit with or without Content-Length, and reports bad JSON', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(5000), executor: 'echo' });
    const declared = await post(big);
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    const streamed = await post(chunked(big.slice(0, 3000), big.slice(3000)));
    expect(streamed.status).toBe(413);
    const broken = await post('{"name": ');
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
  });
});

describe('request ids over a real listener', () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  it("echoes the client's X-Request-Id when it is a sane token", async () => {
    const res = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'abc-123=' } });
    expect(res.headers.get('x-request-id')).toBe('abc-123=');
  });

  it('every answer carries exactly one request id: created, refused by the body limit, unknown route', async () => {
    const answers = [
      await post(JSON.stringify({ name: 'rid-tpl', executor: 'echo' }), { 'x-request-id': 'rid-1' }),
      await post(JSON.stringify({ name: 'x'.repeat(5000), executor: 'echo' }), { 'x-request-id': 'rid-2' }),
      await fetch(`${url}/no-such-route`, { headers: { 'x-request-id': 'rid-3' } }),
    ];
    expect(answers.map((r) => r.status)).toEqual([201, 413, 404]);
    expect(answers.map((r) => r.headers.get('x-request-id'))).toEqual(['rid-1', 'rid-2', 'rid-3']);
    expect(answers.map((r) => r.headers.get('content-type'))).toEqual([
      'application/json',
      'application/json',
      'application/json',
    ]);
  });

  it('replaces a missing, malformed or overlong X-Request-Id with a fresh UUID', async () => {
    const cases: Array<Record<string, string>> = [
      {},
      { 'x-request-id': 'a b;c' },
      { 'x-request-id': 'x'.repeat(256) },
    ];
    for (const headers of cases) {
      const res = await fetch(`${url}/healthz`, { headers });
      expect(res.headers.get('x-request-id')).toMatch(UUID);
    }
  });
});
