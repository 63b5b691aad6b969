import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Producer, ProducerBatch } from 'kafkajs';
import { BatchingProducer, MessageTooLargeError } from './batching-producer.js';

/** A stand-in for the kafkajs producer that records each request and can fail on demand. */
function fakeProducer(failFirst = 0) {
  const requests: ProducerBatch[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let failures = failFirst;
  const producer = {
    sendBatch: async (batch: ProducerBatch) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      if (failures-- > 0) throw new Error('broker unavailable');
      requests.push(batch);
      return [];
    },
  } as unknown as Producer;
  return { producer, requests, maxInFlight: () => maxInFlight };
}

const logger = pino({ level: 'silent' });
const count = (requests: ProducerBatch[]) =>
  requests.reduce((n, r) => n + (r.topicMessages ?? []).reduce((m, t) => m + t.messages.length, 0), 0);

describe('BatchingProducer', () => {
  it('sends messages produced in the same tick as one request, grouped by topic', async () => {
    const fake = fakeProducer();
    const out = new BatchingProducer(fake.producer, logger);
    await Promise.all([
      out.send('a', { key: '1', value: 'x' }),
      out.send('b', { key: '2', value: 'y' }),
      out.send('a', { key: '3', value: 'z' }),
    ]);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({
      acks: -1,
      topicMessages: [
        { topic: 'a', messages: [{ key: '1' }, { key: '3' }] },
        { topic: 'b', messages: [{ key: '2' }] },
      ],
    });
  });

  it('keeps one request in flight and coalesces what arrives meanwhile, in order', async () => {
    const fake = fakeProducer();
    const out = new BatchingProducer(fake.producer, logger);
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      sends.push(out.send('t', { key: 'k', value: String(i) }));
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(sends);
    expect(fake.maxInFlight()).toBe(1);
    expect(fake.requests.length).toBeLessThan(50);
    const values = fake.requests.flatMap((r) => r.topicMessages![0]!.messages.map((m) => m.value));
    expect(values).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
  });

  it('retries a failed request until it goes through', async () => {
    const fake = fakeProducer(2);
    const out = new BatchingProducer(fake.producer, logger);
    await out.send('t', { key: 'k', value: 'v' });
    expect(count(fake.requests)).toBe(1);
  });

  it('rejects what is still queued when closed, and refuses new messages', async () => {
    const fake = fakeProducer(1000);
    const out = new BatchingProducer(fake.producer, logger);
    const pending = out.send('t', { key: 'k', value: 'v' });
    await new Promise((r) => setTimeout(r, 20));
    out.close();
    await expect(pending).rejects.toThrow();
    await expect(out.send('t', { key: 'k', value: 'v' })).rejects.toThrow(
      'producer is closed; message for t not sent',
    );
  });

  it('flush resolves once everything queued is sent', async () => {
    const fake = fakeProducer();
    const out = new BatchingProducer(fake.producer, logger);
    void out.send('t', { key: 'k', value: 'v' });
    await out.flush();
    expect(count(fake.requests)).toBe(1);
    await out.flush();
  });

  it('a message retracted before its request never goes out; one already taken cannot be retracted', async () => {
    const fake = fakeProducer();
    const out = new BatchingProducer(fake.producer, logger);
    const encoded: string[] = [];
    const value = (v: string) => () => (encoded.push(v), v);
    const retractEarly = out.sendRetractable('t', 'a', value('early'));
    const other = out.send('t', { key: 'b', value: 'kept' });
    expect(retractEarly()).toBe(true);
    expect(out.queued).toBe(1);
    await other;
    const retractLate = out.sendRetractable('t', 'c', value('late'));
    await new Promise((r) => setImmediate(r)); // taken into the next request
    expect(retractLate()).toBe(false);
    expect(await out.flush()).toBe(true);
    const values = fake.requests.flatMap((r) => r.topicMessages![0]!.messages.map((m) => m.value));
    expect(values).toEqual(['kept', 'late']);
    // Serialised only when its request was built: the withdrawn one never was.
    expect(encoded).toEqual(['late']);
  });

  it('a retractable message over maxMessageBytes once serialised is replaced, or dropped, and the others go out', async () => {
    const fake = fakeProducer();
    const out = new BatchingProducer(fake.producer, logger, { maxMessageBytes: 1024 });
    out.sendRetractable('t', 'big', () => 'x'.repeat(2000));
    await out.send('t', { key: 'small', value: 'kept' });
    expect(await out.flush()).toBe(true);
    const values = fake.requests.flatMap((r) => r.topicMessages![0]!.messages.map((m) => m.value));
    expect(values).toEqual(['kept']);
  });

  it('splits what is queued into requests of at most maxRequestBytes', async () => {
    const fake = fakeProducer();
    const out = new BatchingProducer(fake.producer, logger, { maxMessageBytes: 4096 });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => out.send('t', { key: `k${i}`, value: 'v'.repeat(1000) })),
    );
    expect(count(fake.requests)).toBe(20);
    // 1000 bytes of value + key + framing each: three fit in 4096, a fourth does not.
    expect(fake.requests.length).toBe(7);
  });

  it('a message over maxMessageBytes is sent as its replacement, or rejected; the others go out', async () => {
    const fake = fakeProducer();
    const out = new BatchingProducer(fake.producer, logger, {
      maxMessageBytes: 2048,
      replaceTooLarge: (topic, message, reason) =>
        topic === 'results' ? { key: message.key, value: `replaced: ${reason}` } : null,
    });
    const big = 'x'.repeat(5000);
    const [replaced, rejected, other] = await Promise.allSettled([
      out.send('results', { key: 'a', value: big }),
      out.send('heartbeats', { key: 'b', value: big }),
      out.send('results', { key: 'c', value: 'small' }),
    ]);
    expect(replaced.status).toBe('fulfilled');
    expect(other.status).toBe('fulfilled');
    expect(rejected).toMatchObject({ status: 'rejected', reason: expect.any(MessageTooLargeError) });
    const values = fake.requests.flatMap((r) =>
      r.topicMessages!.flatMap((t) => t.messages.map((m) => m.value)),
    );
    expect(values).toEqual([
      expect.stringMatching(/^replaced: 5\d+ bytes, more than KAFKA_MAX_MESSAGE_BYTES \(2048\)$/),
      'small',
    ]);
  });

  it('a request Kafka refuses as MESSAGE_TOO_LARGE is halved until the refused message is alone and replaced', async () => {
    const requests: ProducerBatch[] = [];
    // Refuses any request holding a message marked BIG, as a broker with a low message.max.bytes would.
    const producer = {
      sendBatch: async (batch: ProducerBatch) => {
        if (batch.topicMessages!.some((t) => t.messages.some((m) => String(m.value).startsWith('BIG')))) {
          const protocol = Object.assign(
            new Error(
              'The request included a message larger than the max message size the server will accept',
            ),
            { type: 'MESSAGE_TOO_LARGE' },
          );
          throw Object.assign(new Error('non-retriable'), { cause: protocol });
        }
        requests.push(batch);
        return [];
      },
    } as unknown as Producer;
    const out = new BatchingProducer(producer, logger, {
      replaceTooLarge: (_topic, message, reason) => ({
        key: message.key,
        value: `failed instead: ${reason}`,
      }),
    });
    const sends = Array.from({ length: 9 }, (_, i) =>
      out.send('t', { key: `k${i}`, value: i === 4 ? 'BIG' : `m${i}` }),
    );
    await Promise.all(sends);
    const values = requests.flatMap((r) => r.topicMessages!.flatMap((t) => t.messages.map((m) => m.value)));
    expect(values).toEqual([
      'm0',
      'm1',
      'm2',
      'm3',
      'failed instead: refused by Kafka as MESSAGE_TOO_LARGE',
      'm5',
      'm6',
      'm7',
      'm8',
    ]);
  });
});
