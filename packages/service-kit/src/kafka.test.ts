// Unit tests of the Kafka helpers: IPv6 seed brokers reach their address, kafkajs lines land in pino at the right level.
import net from 'node:net';
import { Writable } from 'node:stream';
import { logLevel } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { kafkaBrokerConfig, kafkaLogCreator, kafkaLogLevel } from './kafka.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), lines };
}

describe('kafkaBrokerConfig', () => {
  it('leaves host:port brokers as they are and needs no socket factory for them', () => {
    expect(kafkaBrokerConfig(['a:1', 'b:2'])).toEqual({ brokers: ['a:1', 'b:2'] });
  });

  it('connects a bracketed address through its placeholder host', async () => {
    const server = net.createServer((s) => s.end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    try {
      const config = kafkaBrokerConfig([`[127.0.0.1]:${port}`]);
      const [seed] = config.brokers as string[];
      // kafkajs splits a seed broker at its first colon: the placeholder must survive that.
      const [host, seedPort] = seed!.split(':');
      expect(Number(seedPort)).toBe(port);
      const received = await new Promise<string>((resolve, reject) => {
        const socket = config.socketFactory!({ host: host!, port, ssl: false as never, onConnect: () => {} });
        let data = '';
        socket.on('data', (c: Buffer) => (data += c.toString()));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      expect(received).toBe('hello');
    } finally {
      server.close();
    }
  });
});

describe('kafkaLogCreator', () => {
  it('writes kafkajs entries to a kafkajs child at the matching pino level', () => {
    const { logger, lines } = capture();
    const log = kafkaLogCreator(logger)(logLevel.INFO);
    log({
      namespace: 'Consumer',
      level: logLevel.WARN,
      label: 'WARN',
      log: { message: 'slow', timestamp: 'x', groupId: 'g' },
    });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        component: 'kafkajs',
        namespace: 'Consumer',
        groupId: 'g',
        msg: 'slow',
      }),
    ]);
    expect(lines[0]).not.toHaveProperty('timestamp');
  });

  it('writes rebalance answers and what the service demotes at debug', () => {
    const { logger, lines } = capture();
    const log = kafkaLogCreator(logger, { demote: (m) => m.includes('ECONNREFUSED') })(logLevel.INFO);
    log({
      namespace: 'Connection',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: {
        message: 'Response Heartbeat',
        error: 'The group is rebalancing, so a rejoin is needed',
        timestamp: '',
      },
    });
    log({
      namespace: 'Connection',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: { message: 'connect ECONNREFUSED 127.0.0.1:1', timestamp: '' },
    });
    log({
      namespace: 'Consumer',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: { message: 'Crash: something else', timestamp: '' },
    });
    expect(lines.map((l) => l.level)).toEqual([20, 20, 50]);
  });

  it('maps pino levels onto kafkajs levels, kafkajs INFO only from debug on', () => {
    expect(kafkaLogLevel('info')).toBe(logLevel.WARN);
    expect(kafkaLogLevel('debug')).toBe(logLevel.INFO);
    expect(kafkaLogLevel('trace')).toBe(logLevel.DEBUG);
    expect(kafkaLogLevel('error')).toBe(logLevel.ERROR);
    expect(kafkaLogLevel('silent')).toBe(logLevel.NOTHING);
  });
});
