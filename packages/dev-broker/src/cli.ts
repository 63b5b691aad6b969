#!/usr/bin/env node
// Owns the taskwire-dev-broker command: flags -> startBroker(), one JSON log line on start, clean stop on signals.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startBroker } from './index.js';

const USAGE = `usage: taskwire-dev-broker [--host 127.0.0.1] [--port 9092] [--data-dir DIR]
  [--partitions 3] [--retention-bytes 67108864] [--retention-ms 86400000] [--segment-bytes 16777216]
  [--fsync-interval-ms 1000] [--no-auto-create] [--log-level info]`;

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new RangeError(`--${name} must be an integer, got '${value}'`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      partitions: { type: 'string' },
      'retention-bytes': { type: 'string' },
      'retention-ms': { type: 'string' },
      'segment-bytes': { type: 'string' },
      'fsync-interval-ms': { type: 'string' },
      'no-auto-create': { type: 'boolean' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const logger = pino({ level: values['log-level'] ?? 'info' });
  const broker = await startBroker({
    logger,
    host: values.host,
    port: int('port', values.port) ?? 9092,
    dataDir: values['data-dir'],
    defaultPartitions: int('partitions', values.partitions),
    retentionBytes: int('retention-bytes', values['retention-bytes']),
    retentionMs: int('retention-ms', values['retention-ms']),
    segmentBytes: int('segment-bytes', values['segment-bytes']),
    fsyncIntervalMs: int('fsync-interval-ms', values['fsync-interval-ms']),
    autoCreateTopics: !values['no-auto-create'],
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping dev broker');
    broker.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `taskwire-dev-broker: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`,
  );
  process.exit(2);
});
