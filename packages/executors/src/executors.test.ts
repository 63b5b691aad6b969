import { createServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutorContext, ExecutorError } from '@taskwire/executor-sdk';
import { builtinExecutors, echoExecutor, httpExecutor, shellExecutor, sleepExecutor } from './index.js';

function ctx<P>(params: P, signal: AbortSignal = new AbortController().signal): ExecutorContext<P> {
  const noop = () => undefined;
  const logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
  return {
    params,
    taskId: 't1',
    attempt: 1,
    signal,
    deadline: Date.now() + 60_000,
    log: noop,
    progress: noop,
    logger,
  };
}

async function failure(p: Promise<unknown>): Promise<ExecutorError> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: ExecutorError) => err,
  );
}

describe('built-in executors', () => {
  it('builtinExecutors has echo, sleep and http but not shell', () => {
    expect(builtinExecutors.map((e) => e.name)).toEqual(['echo', 'sleep', 'http']);
  });

  it('echo returns its params', async () => {
    expect(await echoExecutor.run(ctx({ a: [1] }))).toEqual({ a: [1] });
  });

  it('sleep resolves after ms', async () => {
    expect(await sleepExecutor.run(ctx({ ms: 5 }))).toEqual({ slept_ms: 5 });
  });

  it('sleep rejects as soon as the signal aborts', async () => {
    const ac = new AbortController();
    const run = sleepExecutor.run(ctx({ ms: 60_000 }, ac.signal));
    ac.abort(new Error('canceled by test'));
    const err = await failure(Promise.resolve(run));
    expect(err.message).toBe('sleep of 60000 ms aborted: Error: canceled by test');
  });
});

describe('http executor', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.url?.startsWith('/text')) {
          res.writeHead(status, { 'content-type': 'text/plain' }).end('plain');
          return;
        }
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ method: req.method, body }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  const run = (params: Parameters<typeof httpExecutor.run>[0]['params']) =>
    Promise.resolve(httpExecutor.run(ctx(params)));

  it('parses a JSON response and sends an object body as JSON', async () => {
    const res = await run({ method: 'post', url: `${base}/json`, body: { a: 1 } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ method: 'POST', body: '{"a":1}' });
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
    const { port } = probe.address() as AddressInfo;
    await new Promise((r) => probe.close(r));
    const err = await failure(run({ method: 'GET', url: `http://127.0.0.1:${port}/` }));
    expect(err).toMatchObject({
      retryable: true,
      message: `http GET http://127.0.0.1:${port}/ failed: ECONNREFUSED`,
    });
  });
});

describe('shell executor', () => {
  const node = process.execPath;
  const run = (params: Parameters<typeof shellExecutor.run>[0]['params'], signal?: AbortSignal) =>
    Promise.resolve(shellExecutor.run(ctx(params, signal)));

  it('runs argv without a shell and returns exit code and output', async () => {
    const res = await run({
      argv: [node, '-e', 'process.stdout.write(process.argv[1] + process.env.X)', '$HOME;ls'],
      env: { X: '!' },
    });
    expect(res).toEqual({ exit_code: 0, stdout: '$HOME;ls!', stderr: '' });
  });

  it('fails retryably with the exit code on a non-zero exit', async () => {
    const err = await failure(run({ argv: [node, '-e', 'console.error("bad"); process.exit(3)'] }));
    expect(err).toMatchObject({ retryable: true, data: { exit_code: 3, stderr: 'bad\n' } });
    expect(err.message).toMatch(/exited with code 3$/);
  });

  it('cuts large output', async () => {
    const res = await run({ argv: [node, '-e', 'process.stdout.write("x".repeat(600000))'] });
    expect(res.stdout.length).toBe(256 * 1024);
    expect(res.truncated).toBe(true);
  });

  it('kills the process when the signal aborts', async () => {
    const ac = new AbortController();
    const p = run({ argv: [node, '-e', 'setTimeout(() => {}, 60000)'] }, ac.signal);
    setTimeout(() => ac.abort(new Error('stop')), 50);
    const err = await failure(p);
    expect(err.message).toMatch(/aborted: Error: stop \(killed by SIGTERM\)$/);
  });

  it('fails non-retryably when the program does not exist', async () => {
    expect(await failure(run({ argv: ['/no/such/program'] }))).toMatchObject({ retryable: false });
  });
});
