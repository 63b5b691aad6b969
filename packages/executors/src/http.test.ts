import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LookupAddress } from 'node:dns';
import type { AddressInfo, Server } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectionOf, testContext } from '@taskwire/executor-sdk';
import type { ExecutorError } from '@taskwire/executor-sdk';
import { createHttpExecutor, HTTP_MAX_BODY_BYTES, HTTP_MAX_TIMEOUT_MS, httpExecutor } from './index.js';
import type { HttpParams } from './index.js';

const ctx = testContext;
const failure = (p: Promise<unknown>): Promise<ExecutorError> => rejectionOf<ExecutorError>(p);

/** A local server: `/json`, `/text`, `/redirect?to=…`, `/loop`, `/stall`, `/slow?ms=…`, `/endless`, `/bomb`. */
let server: Server;
let base: string;
let port: number;
/** Bytes /endless had written when its connection closed, and a way to wait for that. */
let endless: Promise<number>;
let endlessClosed: (written: number) => void = () => undefined;

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const status = Number(url.searchParams.get('status') ?? 200);
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    switch (url.pathname) {
      case '/text':
        res.writeHead(status, { 'content-type': 'text/plain' }).end('plain');
        return;
      case '/stall':
        // Headers and a first chunk, then nothing: a timeout has to land while the body is read.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first');
        return;
      case '/loop':
        res.writeHead(302, { location: '/loop' }).end();
        return;
      case '/redirect':
        res.writeHead(status === 200 ? 302 : status, { location: url.searchParams.get('to') ?? '/' }).end();
        return;
      case '/slow':
        setTimeout(
          () => res.writeHead(200, { 'content-type': 'text/plain' }).end('late'),
          Number(url.searchParams.get('ms')),
        );
        return;
      case '/endless': {
        // Writes up to 1 GiB, as fast as the client reads, until the client hangs up.
        const chunk = Buffer.alloc(64 * 1024, 'x');
        let written = 0;
        res.writeHead(200, { 'content-type': 'text/plain' });
        const pump = (): void => {
          while (written < 1024 ** 3 && !res.destroyed) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.once('close', () => endlessClosed(written));
        pump();
        return;
      }
      case '/bomb':
        // 8 MiB of zeros, gzipped to a few KiB: the cap counts what the body decompresses to.
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
        res.end(gzipSync(Buffer.alloc(8 * 1024 * 1024)));
        return;
      default:
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ method: req.method, body, auth: req.headers.authorization ?? null }));
    }
  });
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

/** The executor of a worker with HTTP_EXECUTOR_ALLOW_HOSTS=127.0.0.1 (the local test server). */
const local = createHttpExecutor({ allowHosts: ['127.0.0.1'] });
const run = (params: HttpParams, executor = local) => Promise.resolve(executor.run(ctx(params)));

describe('http executor', () => {
  it('parses a JSON response and sends an object body as JSON', async () => {
    const res = await run({ method: 'post', url: `${base}/json`, body: { a: 1 } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ method: 'POST', body: '{"a":1}', auth: null });
    expect(res.headers['content-type']).toBe('application/json');
  });

  it('returns text for a non-JSON response', async () => {
    expect((await run({ method: 'GET', url: `${base}/text` })).body).toBe('plain');
  });

  it('fails a 4xx non-retryably and a 5xx retryably, with the response as data', async () => {
    const notFound = await failure(run({ method: 'GET', url: `${base}/json?status=404` }));
    expect(notFound).toMatchObject({ retryable: false, data: { status: 404 } });
    expect(notFound.message).toBe(`http GET ${base}/json?status=404 answered 404`);
    expect(await failure(run({ method: 'GET', url: `${base}/json?status=503` }))).toMatchObject({
      retryable: true,
    });
    expect(await failure(run({ method: 'GET', url: `${base}/json?status=429` }))).toMatchObject({
      retryable: true,
    });
  });

  it('refuses schemes other than http and https non-retryably', async () => {
    const err = await failure(run({ method: 'GET', url: 'file:///etc/passwd' }));
    expect(err).toMatchObject({
      retryable: false,
      message: 'http: url scheme file: is not allowed (use http: or https:)',
    });
  });

  it('fails a network error retryably', async () => {
    // A port that was free a moment ago: nothing listens there now.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port: free } = probe.address() as AddressInfo;
    await new Promise((r) => probe.close(r));
    const err = await failure(run({ method: 'GET', url: `http://127.0.0.1:${free}/` }));
    expect(err).toMatchObject({
      retryable: true,
      message: `http GET http://127.0.0.1:${free}/ failed: ECONNREFUSED`,
    });
  });
});

describe('http executor: blocked destinations', () => {
  it('refuses 127.0.0.1 without an allowlist, naming the address', async () => {
    const err = await failure(run({ method: 'GET', url: `${base}/json` }, httpExecutor));
    expect(err).toMatchObject({
      retryable: false,
      code: 'address_blocked',
      message: `http GET ${base}/json: 127.0.0.1 is a loopback address`,
      data: { address: '127.0.0.1' },
    });
  });

  it('refuses the cloud metadata address 169.254.169.254 and metadata hostnames', async () => {
    const err = await failure(run({ method: 'GET', url: 'http://169.254.169.254/latest/meta-data/' }));
    expect(err).toMatchObject({ retryable: false, code: 'address_blocked' });
    expect(err.message).toBe(
      'http GET http://169.254.169.254/latest/meta-data/: 169.254.169.254 is a link-local/metadata address',
    );
    expect((await failure(run({ method: 'GET', url: 'http://metadata.google.internal/' }))).message).toBe(
      'http GET http://metadata.google.internal/: metadata.google.internal is a metadata hostname',
    );
    expect((await failure(run({ method: 'GET', url: 'http://[::ffff:169.254.169.254]/' }))).message).toMatch(
      /is a link-local\/metadata address \(it embeds 169\.254\.169\.254\)$/,
    );
  });

  it('refuses a hostname that resolves to a loopback address (the system resolver)', async () => {
    const err = await failure(run({ method: 'GET', url: `http://localhost:${port}/json` }, httpExecutor));
    expect(err).toMatchObject({ retryable: false, code: 'address_blocked' });
    expect(err.message).toMatch(
      new RegExp(
        `^http GET http://localhost:${port}/json: localhost resolves to (127\\.0\\.0\\.1|::1), a loopback address$`,
      ),
    );
  });

  it('refuses a hostname when any of its addresses is private, even if another is public', async () => {
    const resolve = ((_host: string, _opts: unknown, cb: (e: null, a: LookupAddress[]) => void) =>
      cb(null, [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ])) as never;
    const executor = createHttpExecutor({ resolve });
    const err = await failure(run({ method: 'GET', url: 'http://intranet.example/' }, executor));
    expect(err).toMatchObject({ retryable: false, code: 'address_blocked', data: { address: '10.0.0.7' } });
    expect(err.message).toBe(
      'http GET http://intranet.example/: intranet.example resolves to 10.0.0.7, a private address',
    );
  });

  it('connects to the address the check resolved, so a hostname allowed by address reaches it', async () => {
    const resolve = ((_host: string, _opts: unknown, cb: (e: null, a: LookupAddress[]) => void) =>
      cb(null, [{ address: '127.0.0.1', family: 4 }])) as never;
    const res = await run(
      { method: 'GET', url: `http://app.test:${port}/text` },
      createHttpExecutor({ allowHosts: ['127.0.0.1'], resolve }),
    );
    expect(res.body).toBe('plain');
  });

  it('lets an allowlisted hostname through', async () => {
    const executor = createHttpExecutor({ allowHosts: ['localhost'] });
    const res = await run({ method: 'GET', url: `http://localhost:${port}/text` }, executor);
    expect(res.body).toBe('plain');
  });

  it('refuses a redirect from an allowed host to a blocked one', async () => {
    const to = 'http://169.254.169.254/latest/meta-data/iam/';
    const err = await failure(run({ method: 'GET', url: `${base}/redirect?to=${encodeURIComponent(to)}` }));
    expect(err).toMatchObject({ retryable: false, code: 'address_blocked' });
    expect(err.message).toMatch(/: 169\.254\.169\.254 is a link-local\/metadata address$/);
    const toLoopback = `http://[::1]:${port}/json`;
    expect(
      (await failure(run({ method: 'GET', url: `${base}/redirect?to=${encodeURIComponent(toLoopback)}` })))
        .message,
    ).toMatch(/: ::1 is a loopback address$/);
  });

  it('follows a redirect between allowed URLs, turning a 303 POST into a GET without the body', async () => {
    const to = `${base}/json`;
    const res = await run({
      method: 'POST',
      url: `${base}/redirect?status=303&to=${encodeURIComponent(to)}`,
      body: 'x',
    });
    expect(res.body).toEqual({ method: 'GET', body: '', auth: null });
  });

  it('drops credentials on a redirect to another origin', async () => {
    const other = createHttpExecutor({ allowHosts: ['127.0.0.1', 'localhost'] });
    const to = `http://localhost:${port}/json`;
    const res = await run(
      {
        method: 'GET',
        url: `${base}/redirect?to=${encodeURIComponent(to)}`,
        headers: { Authorization: 'Bearer s3cret' },
      },
      other,
    );
    expect(res.body).toEqual({ method: 'GET', body: '', auth: null });
    const same = await run(
      { method: 'GET', url: `${base}/redirect?to=/json`, headers: { Authorization: 'Bearer s3cret' } },
      other,
    );
    expect(same.body).toMatchObject({ auth: 'Bearer s3cret' });
  });

  it('refuses a redirect to another scheme and a redirect chain longer than 5', async () => {
    const file = await failure(
      run({ method: 'GET', url: `${base}/redirect?to=${encodeURIComponent('file:///etc/passwd')}` }),
    );
    expect(file).toMatchObject({ retryable: false });
    expect(file.message).toMatch(/: redirect to file: refused \(only http: and https:\)$/);
    const loop = await failure(run({ method: 'GET', url: `${base}/loop` }));
    expect(loop).toMatchObject({ retryable: false });
    expect(loop.message).toBe(`http GET ${base}/loop: more than 5 redirects (last to /loop)`);
  });
});

describe('http executor: limits', () => {
  it('stops reading a body larger than max_body_bytes and fails naming the cap', async () => {
    endless = new Promise((r) => (endlessClosed = r));
    const err = await failure(run({ method: 'GET', url: `${base}/endless`, max_body_bytes: 64 * 1024 }));
    expect(err).toMatchObject({ retryable: false, data: { status: 200, max_body_bytes: 65536 } });
    expect(err.message).toBe(
      `http GET ${base}/endless: response body is larger than max_body_bytes (65536 bytes); transfer stopped`,
    );
    // The server saw the connection close long before its 1 GiB: the rest was never read.
    expect(await endless).toBeLessThan(64 * 1024 * 1024);
  });

  it('counts decompressed bytes against the cap', async () => {
    const err = await failure(run({ method: 'GET', url: `${base}/bomb` }));
    expect(err.message).toMatch(/response body is larger than max_body_bytes \(524288 bytes\)/);
  });

  it('says in its params schema how far timeout_ms and max_body_bytes go', () => {
    const props = (local.paramsSchema as { properties: Record<string, { maximum?: number }> }).properties;
    expect(props.timeout_ms?.maximum).toBe(HTTP_MAX_TIMEOUT_MS);
    expect(HTTP_MAX_TIMEOUT_MS).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(props.max_body_bytes?.maximum).toBe(HTTP_MAX_BODY_BYTES);
  });

  it('clamps a timeout_ms beyond Node timers (2^31 ms) instead of letting it fire at once', async () => {
    // Unclamped, Node turns 2^31 ms into 1 ms and the 50 ms answer would time out.
    const res = await run({ method: 'GET', url: `${base}/slow?ms=50`, timeout_ms: 2 ** 31 });
    expect(res.body).toBe('late');
  });

  it('times out retryably when the deadline lands while the body is being read', async () => {
    const err = await failure(run({ method: 'GET', url: `${base}/stall`, timeout_ms: 50 }));
    expect(err).toMatchObject({ retryable: true, message: `http GET ${base}/stall timed out after 50 ms` });
  });

  it('times out retryably after timeout_ms', async () => {
    const err = await failure(run({ method: 'GET', url: `${base}/slow?ms=5000`, timeout_ms: 20 }));
    expect(err).toMatchObject({
      retryable: true,
      message: `http GET ${base}/slow?ms=5000 timed out after 20 ms`,
    });
  });
});
