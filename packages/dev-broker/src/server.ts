// Owns the TCP side: framing, request headers, version checks, dispatch and writing responses.
/*
 * Request frame: size INT32 | api_key INT16 | api_version INT16 | correlation_id INT32
 *                | client_id NULLABLE_STRING | body          (request header v1)
 *                | client_id NULLABLE_STRING | TAGGED_FIELDS | body   (v2: flexible versions)
 * Response frame: size INT32 | correlation_id INT32 | body   (response header v0)
 *                 size INT32 | correlation_id INT32 | TAGGED_FIELDS | body   (v1: flexible versions,
 *                 except ApiVersions, which always answers with header v0)
 * Flexible versions are the ones in FIRST_FLEXIBLE_VERSION (only ApiVersions v3 so far). A
 * frame that is oversized, truncated inside its header/body, or names an unknown API or version
 * closes that connection (as Kafka does); ApiVersions alone answers UNSUPPORTED_VERSION in v0 form.
 * Responses may leave out of request order (a parked Fetch does not hold up a Heartbeat); kafkajs
 * matches them by correlation id.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { HANDLERS } from './handlers/index.js';
import type { BrokerContext, Connection } from './handlers/context.js';
import { NO_RESPONSE } from './handlers/context.js';
import { ApiKey, FIRST_FLEXIBLE_VERSION, SUPPORTED_VERSIONS } from './protocol/api-keys.js';
import { ProtocolError } from './protocol/errors.js';
import { Reader } from './protocol/reader.js';
import { Writer } from './protocol/writer.js';

const MIN_FRAME = 8; // api_key + api_version + correlation_id

export class BrokerServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private nextConnId = 1;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly logger: Logger,
  ) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.server.on('error', (err) => this.logger.error({ err }, 'server error'));
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    const conn: Connection = {
      id: this.nextConnId++,
      clientId: '',
      clientHost: socket.remoteAddress ?? '',
      closed: false,
      onClose: new Set(),
    };
    let chunks: Buffer[] = [];
    let have = 0;
    let need = -1;

    const fail = (reason: string, err?: unknown): void => {
      this.logger.warn({ conn: conn.id, clientId: conn.clientId, reason, err }, 'closing connection');
      socket.destroy();
    };

    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      while (!socket.destroyed) {
        if (need < 0) {
          if (have < 4) return;
          if ((chunks[0] as Buffer).length < 4) chunks = [Buffer.concat(chunks, have)];
          const size = (chunks[0] as Buffer).readInt32BE(0);
          if (size < MIN_FRAME || size > this.ctx.options.maxRequestBytes) {
            return fail(`frame size ${size} outside ${MIN_FRAME}..${this.ctx.options.maxRequestBytes}`);
          }
          need = size + 4;
        }
        if (have < need) return;
        let head = chunks[0] as Buffer;
        if (head.length < need) {
          head = Buffer.concat(chunks, have);
          chunks = [head];
        }
        const frame = head.subarray(4, need);
        if (head.length > need) chunks[0] = head.subarray(need);
        else chunks.shift();
        have -= need;
        need = -1;
        this.handleFrame(socket, conn, frame, fail);
      }
    });
    socket.on('error', (err) => this.logger.debug({ conn: conn.id, err }, 'socket error'));
    socket.on('close', () => {
      this.sockets.delete(socket);
      conn.closed = true;
      chunks = [];
      for (const release of [...conn.onClose]) release();
      conn.onClose.clear();
    });
  }

  private handleFrame(
    socket: net.Socket,
    conn: Connection,
    frame: Buffer,
    fail: (reason: string, err?: unknown) => void,
  ): void {
    const r = new Reader(frame);
    let apiKey: number;
    let version: number;
    let correlationId: number;
    let flexible: boolean;
    try {
      apiKey = r.int16();
      version = r.int16();
      correlationId = r.int32();
      conn.clientId = r.nullableString() ?? '';
      const firstFlexible = FIRST_FLEXIBLE_VERSION.get(apiKey);
      // An ApiVersions probe above our range is answered without reading past client_id, as Kafka does.
      const max = SUPPORTED_VERSIONS.get(apiKey)?.[1] ?? -1;
      flexible = firstFlexible !== undefined && version >= firstFlexible && version <= max;
      if (flexible) r.skipTaggedFields();
    } catch (err) {
      return fail('malformed request header', err);
    }
    const range = SUPPORTED_VERSIONS.get(apiKey);
    const handler = HANDLERS.get(apiKey);
    if (!range || !handler) return fail(`unknown api key ${apiKey}`);
    if (apiKey !== ApiKey.ApiVersions && (version < range[0] || version > range[1])) {
      return fail(`unsupported version ${version} of api key ${apiKey} (supported ${range[0]}-${range[1]})`);
    }
    const w = new Writer();
    if (flexible && apiKey !== ApiKey.ApiVersions) w.noTags(); // response header v1
    const send = (): void => {
      if (conn.closed || socket.destroyed) return;
      const parts = w.finish(correlationId);
      if (parts.length === 1) {
        socket.write(parts[0] as Buffer);
        return;
      }
      socket.cork();
      for (const p of parts) socket.write(p);
      socket.uncork();
    };
    let result;
    try {
      result = handler(this.ctx, conn, r, w, version);
    } catch (err) {
      if (err instanceof ProtocolError) return fail(`malformed request body (api key ${apiKey})`, err);
      this.logger.error({ err, apiKey, version }, 'request handler failed');
      return fail('internal error');
    }
    if (result === NO_RESPONSE) return;
    if (result instanceof Promise) {
      result.then(send, (err: unknown) => {
        this.logger.error({ err, apiKey, version }, 'request handler failed');
        fail('internal error');
      });
      return;
    }
    send();
  }
}
