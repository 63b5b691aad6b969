// One HTTP exchange that cannot be steered at blocked addresses: checked DNS, manual redirects, capped body.
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { addAbortSignal } from 'node:stream';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { ExecutorError } from '@taskwire/executor-sdk';
import { bareHost } from './address-policy.js';
import type { AddressPolicy, Refusal } from './address-policy.js';

export interface GuardedRequest {
  method: string;
  url: URL;
  /** Lower-case names. */
  headers: Record<string, string>;
  body?: Buffer;
  signal: AbortSignal;
  policy: AddressPolicy;
  maxBodyBytes: number;
  maxRedirects: number;
  /** Resolver with dns.lookup's signature (default dns.lookup); its answers are checked like DNS's. */
  resolve?: typeof dnsLookup;
}

export interface GuardedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The URL that answered, after redirects. */
  url: URL;
}

/** Carries a refusal out of the socket's lookup callback, through the request's error event. */
class BlockedAddress extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.reason);
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers that must not follow a redirect to another origin (they carry the caller's credentials). */
const CREDENTIALS = ['authorization', 'cookie', 'proxy-authorization'];

function blocked(what: string, refusal: Refusal): ExecutorError {
  return new ExecutorError(`${what}: ${refusal.reason}`, {
    retryable: false,
    code: 'address_blocked',
    data: { address: refusal.address },
  });
}

/**
 * Resolves every address of a host and refuses the connection when any of them is blocked; the
 * socket then connects to exactly the addresses checked here, so a second DNS answer (rebinding)
 * cannot swap in another one.
 */
function checkedLookup(policy: AddressPolicy, resolve: typeof dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      if (!policy.allowsHost(hostname)) {
        for (const { address } of addresses) {
          const refusal = policy.checkAddress(address);
          if (refusal) {
            const reason = `${hostname} resolves to ${refusal.address}, ${refusal.kind}`;
            return callback(new BlockedAddress({ ...refusal, reason }), '', 0);
          }
        }
      }
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      return callback(null, first.address, first.family);
    });
  };
}

function checkUrl(url: URL, what: string, policy: AddressPolicy): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw ExecutorError.nonRetryable(
      `${what}: url scheme ${url.protocol} is not allowed (use http: or https:)`,
      {
        url: url.href,
      },
    );
  }
  const refusal = policy.checkHostname(url.hostname);
  if (refusal) throw blocked(what, refusal);
}

function send(req: GuardedRequest, url: URL, lookup: LookupFunction): Promise<IncomingMessage> {
  const headers: OutgoingHttpHeaders = { ...req.headers };
  if (req.body !== undefined) headers['content-length'] = req.body.length;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const out = request({
      protocol: url.protocol,
      hostname: bareHost(url.hostname),
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: req.method,
      headers,
      // A fresh connection per request: a pooled socket could have been opened without our lookup.
      agent: false,
      lookup,
      signal: req.signal,
    });
    out.once('response', resolve);
    // Kept after the response: a late error (abort, reset while reading) must not go unhandled.
    out.on('error', reject);
    out.end(req.body);
  });
}

function decoded(res: IncomingMessage): Readable {
  const encoding = (res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  if (!decoder) return res;
  res.on('error', (err) => decoder.destroy(err));
  return res.pipe(decoder);
}

/** Reads at most `max` bytes (after decompression) and stops the transfer as soon as there are more. */
async function readCapped(res: IncomingMessage, req: GuardedRequest, what: string): Promise<Buffer> {
  const stream = addAbortSignal(req.signal, decoded(res));
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > req.maxBodyBytes) {
        throw ExecutorError.nonRetryable(
          `${what}: response body is larger than max_body_bytes (${req.maxBodyBytes} bytes); transfer stopped`,
          { status: res.statusCode, max_body_bytes: req.maxBodyBytes },
        );
      }
      chunks.push(chunk);
    }
  } finally {
    res.destroy();
    stream.destroy();
  }
  return Buffer.concat(chunks);
}

function flatHeaders(res: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/**
 * Sends the request, following up to `maxRedirects` redirects by hand: every hop's URL, hostname
 * and resolved addresses are checked again, and credentials do not follow a change of origin.
 */
export async function guardedRequest(req: GuardedRequest, what: string): Promise<GuardedResponse> {
  const lookup = checkedLookup(req.policy, req.resolve ?? dnsLookup);
  let { url, method, body } = req;
  const headers = { ...req.headers };
  for (let hop = 0; ; hop++) {
    checkUrl(url, what, req.policy);
    let res: IncomingMessage;
    try {
      res = await send({ ...req, method, headers, body }, url, lookup);
    } catch (err) {
      if (err instanceof BlockedAddress) throw blocked(what, err.refusal);
      throw err;
    }
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || location === undefined) {
      return {
        status: res.statusCode ?? 0,
        headers: flatHeaders(res),
        body: await readCapped(res, req, what),
        url,
      };
    }
    res.destroy();
    if (hop >= req.maxRedirects) {
      throw ExecutorError.nonRetryable(
        `${what}: more than ${req.maxRedirects} redirects (last to ${location})`,
      );
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw ExecutorError.nonRetryable(
        `${what}: redirect to an invalid location ${JSON.stringify(location)}`,
      );
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw ExecutorError.nonRetryable(
        `${what}: redirect to ${next.protocol} refused (only http: and https:)`,
        {
          location,
        },
      );
    }
    // Like fetch: 303 turns anything but HEAD into GET, and 301/302 turn POST into GET, body dropped.
    const status = res.statusCode ?? 0;
    if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      delete headers['content-type'];
    }
    if (next.origin !== url.origin) for (const name of CREDENTIALS) delete headers[name];
    url = next;
  }
}
