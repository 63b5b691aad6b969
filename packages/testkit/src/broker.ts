// Test fixture: a dev broker on a free port, and random names for topics and groups.
import { randomBytes } from 'node:crypto';
import { startBroker } from '@taskwire/dev-broker';
import type { BrokerOptions } from '@taskwire/dev-broker';

export interface TestBroker {
  /** 'host:port' for `new Kafka({ brokers: [broker.brokers] })`. */
  brokers: string;
  host: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts an in-memory dev broker on a free port. Stop it in `afterAll`.
 *
 * @example
 * ```ts
 * let broker: TestBroker;
 * beforeAll(async () => { broker = await startTestBroker(); });
 * afterAll(() => broker.stop());
 * ```
 */
export async function startTestBroker(options: Omit<BrokerOptions, 'port'> = {}): Promise<TestBroker> {
  const broker = await startBroker({ ...options, port: 0 });
  return { brokers: broker.brokers, host: broker.host, port: broker.port, stop: () => broker.stop() };
}

/** A unique, Kafka-safe name: `randomName('dispatch')` → `dispatch-k3j9x2a1b0c4`. */
export function randomName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}
