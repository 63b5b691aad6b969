// Creates the topics the stack needs at start-up (idempotent), with the configured partition count.
import type { Kafka } from 'kafkajs';
import { dlqTopicFor } from '@taskwire/contracts';

export async function ensureTopics(
  kafka: Kafka,
  topics: readonly string[],
  numPartitions: number,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = [...new Set([...topics, ...topics.map(dlqTopicFor)])].filter((t) => !existing.has(t));
    if (wanted.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: wanted.map((topic) => ({ topic, numPartitions: topic.endsWith('.dlq') ? 1 : numPartitions })),
    });
  } finally {
    await admin.disconnect();
  }
}
