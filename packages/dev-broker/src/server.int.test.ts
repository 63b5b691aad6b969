// Robustness of the TCP front end over raw sockets: garbage, truncation, oversize, unknown APIs/versions.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import { startBroker } from './index.js';
import type { RunningBroker } from './index.js';
import { SUPPORTED_VERSIONS } from './protocol/api-keys.js';
import { crc32c } from './protocol/crc32c.js';
import { kafkaFor, requireKafkajs, uniqueName, quietLogger } from './testing/helpers.js';

let broker: RunningBroker;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  broker = await startBroker({ maxRequestBytes: 1024 * 1024, logger: quietLogger });
  admin = kafkaFor(broker.brokers).admin();
  producer = kafkaFor(broker.brokers).producer();
  await Promise.all([admin.connect(), producer.connect()]);
});

afterAll(async () => {
  await Promise.all([admin?.disconnect(), producer?.disconnect()]);
  await broker?.stop();
});

/** Sends bytes on a fresh socket; resolves with what came back and whether the broker closed it. */
function exchange(
  bytes: Buffer,
  opts: { waitMs?: number; end?: boolean } = {},
): Promise<{ closed: boolean; data: Buffer }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect(broker.port, broker.host, () => {
      s.write(bytes);
      if (opts.end) s.end();
    });
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ closed, data: Buffer.concat(chunks) });
    };
    const timer = setTimeout(() => done(false), opts.waitMs ?? 1000);
    s.on('data', (c) => chunks.push(c));
    s.on('error', () => undefined);
    s.on('close', () => done(true));
  });
}

function frame(apiKey: number, version: number, body: Buffer = Buffer.alloc(0), correlationId = 7): Buffer {
  const header = Buffer.alloc(10 + 4);
  header.writeInt32BE(10 + body.length, 0);
  header.writeInt16BE(apiKey, 4);
  header.writeInt16BE(version, 6);
  header.writeInt32BE(correlationId, 8);
  header.writeInt16BE(-1, 12); // null client id
  return Buffer.concat([header, body]);
}

async function stillServes(): Promise<void> {
  const topic = uniqueName('alive');
  const [res] = await producer.send({ topic, messages: [{ value: 'ok' }] });
  expect(res?.errorCode).toBe(0);
  expect(await admin.listTopics()).toContain(topic);
}

describe('server robustness', () => {
  it('closes the connection on garbage bytes', async () => {
    expect((await exchange(randomBytes(4096))).closed).toBe(true);
    expect((await exchange(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).closed).toBe(true);
    await stillServes();
  });

  it('refuses an oversize frame from its size field alone', async () => {
    const big = Buffer.alloc(4);
    big.writeInt32BE(2 * 1024 * 1024);
    expect((await exchange(big)).closed).toBe(true);
    await stillServes();
  });

  it('survives truncated frames and clients vanishing mid-request', async () => {
    const full = frame(3, 4, Buffer.from([0, 0, 0, 1, 0, 1]));
    for (const cut of [2, 5, 12, full.length - 1])
      await exchange(full.subarray(0, cut), { end: true, waitMs: 200 });
    // A frame whose body is shorter than its own fields claim: malformed, closed.
    const lying = frame(3, 4, Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    expect((await exchange(lying)).closed).toBe(true);
    await stillServes();
  });

  it('closes on unknown APIs and unsupported versions, answers ApiVersions probes with UNSUPPORTED_VERSION', async () => {
    expect((await exchange(frame(999, 0))).closed).toBe(true);
    expect((await exchange(frame(3, 9, Buffer.from([0, 0, 0, 0, 0])))).closed).toBe(true);
    const { data } = await exchange(frame(18, 4), { waitMs: 300 });
    expect(data.readInt32BE(4)).toBe(7); // correlation id
    expect(data.readInt16BE(8)).toBe(35); // UNSUPPORTED_VERSION, in the v0 layout
    expect(data.readInt32BE(10)).toBeGreaterThan(10); // and the supported list
    await stillServes();
  });

  it('answers the flexible ApiVersions v3 handshake with response header v0 and compact arrays', async () => {
    // Request header v2: null client id, then an empty tag buffer; body: two compact strings + tags.
    const body = Buffer.from('00' + '0278' + '0231' + '00', 'hex');
    const { data, closed } = await exchange(frame(18, 3, body), { waitMs: 300 });
    expect(closed).toBe(false);
    expect(data.readInt32BE(0)).toBe(data.length - 4);
    expect(data.readInt32BE(4)).toBe(7); // correlation id, and no tag buffer after it (header v0)
    expect(data.readInt16BE(8)).toBe(0); // error_code
    const apis = data.readUInt8(10) - 1; // compact array length (one byte while < 127 APIs)
    expect(apis).toBe(SUPPORTED_VERSIONS.size);
    // Each entry: api_key, min, max, empty tag buffer; then throttle_time_ms and the body's tags.
    expect(data.length).toBe(11 + apis * 7 + 4 + 1);
    expect([data.readInt16BE(11), data.readInt16BE(13), data.readInt16BE(15), data.readUInt8(17)]).toEqual([
      0, 0, 3, 0,
    ]);
    await stillServes();
  });

  it('rejects unsupported compression codecs with UNSUPPORTED_COMPRESSION_TYPE', async () => {
    const topic = uniqueName('codec');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const produceV3 = requireKafkajs('kafkajs/src/protocol/requests/produce/v3/request');
    const encodeFrame = requireKafkajs('kafkajs/src/protocol/request');
    const request = produceV3({
      acks: 1,
      timeout: 1000,
      topicData: [{ topic, partitions: [{ partition: 0, messages: [{ value: 'x' }] }] }],
    });
    const bytes = (await encodeFrame({ correlationId: 5, clientId: 'raw', request })).buffer as Buffer;
    // size + header with client id 'raw', then transactional_id, acks, timeout, [topic [partition size batch]].
    const batchStart = 4 + 13 + 2 + 2 + 4 + 4 + 2 + Buffer.byteLength(topic) + 4 + 4 + 4;
    expect(bytes.readInt8(batchStart + 16)).toBe(2); // magic: we are looking at the batch
    // Mark it zstd (codec 4) and fix its CRC, so that only the codec is wrong.
    bytes.writeInt16BE(4, batchStart + 21);
    bytes.writeUInt32BE(crc32c(bytes, batchStart + 21, bytes.length), batchStart + 17);
    const { data } = await exchange(bytes, { waitMs: 1000 });
    const produceV3Response = requireKafkajs('kafkajs/src/protocol/requests/produce/v3/response');
    const decoded = await produceV3Response.decode(data.subarray(8));
    expect(decoded.topics[0].partitions[0].errorCode).toBe(76);
    expect((await admin.fetchTopicOffsets(topic))[0]?.high).toBe('0');
  });
});
