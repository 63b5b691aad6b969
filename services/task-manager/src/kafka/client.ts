// kafkajs client construction: brokers from config, kafkajs logs routed through pino.
import { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { kafkaBrokerConfig, kafkaLogCreator, kafkaLogLevel } from '@taskwire/service-kit';
import type { LogLevel } from '@taskwire/service-kit';

export function createKafka(opts: {
  brokers: string[];
  clientId: string;
  logger: Logger;
  logLevel?: LogLevel;
}): Kafka {
  return new Kafka({
    clientId: opts.clientId,
    ...kafkaBrokerConfig(opts.brokers),
    logLevel: kafkaLogLevel(opts.logLevel ?? 'info'),
    logCreator: kafkaLogCreator(opts.logger),
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5_000 },
  });
}
