// Test fixture: a kafkajs client with a connected admin and producer on a test broker.
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Admin, Producer } from 'kafkajs';

export interface KafkaClients {
  kafka: Kafka;
  admin: Admin;
  /** kafkajs 2's default partitioner, named so that kafkajs does not warn about it. */
  producer: Producer;
  /** Disconnects the producer and the admin (the broker stays up). */
  disconnect(): Promise<void>;
}

/**
 * Connects an admin and a producer to `brokers` ('host:port', `TestBroker.brokers`), silently.
 *
 * @example
 * ```ts
 * beforeAll(async () => { broker = await startTestBroker(); clients = await connectKafkaClients(broker.brokers); });
 * afterAll(async () => { await clients?.disconnect(); await broker?.stop(); });
 * ```
 */
export async function connectKafkaClients(brokers: string, clientId?: string): Promise<KafkaClients> {
  const kafka = new Kafka({ clientId, brokers: [brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  try {
    await producer.connect();
  } catch (err) {
    await admin.disconnect();
    throw err;
  }
  return {
    kafka,
    admin,
    producer,
    async disconnect() {
      await producer.disconnect();
      await admin.disconnect();
    },
  };
}
