// Creates the topics the stack needs at start-up (idempotent), with the configured partition count; the schema topic compacted.
import type { Kafka } from 'kafkajs';
import { dlqTopicFor, schemaTopicSpec } from '@taskwire/contracts';

/**
 * `topics` (and their `.dlq`) get `numPartitions`; `compacted` topics (the schema topic: every
 * key's value never changes, so compaction keeps each one for good) get one partition,
 * cleanup.policy=compact and no DLQ (nobody dead-letters them: a bad message is skipped and logged).
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: readonly string[],
  numPartitions: number,
  compacted: readonly string[] = [],
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = [...new Set([...topics, ...topics.map(dlqTopicFor)])].filter((t) => !existing.has(t));
    const wantedCompacted = [...new Set(compacted)].filter((t) => !existing.has(t) && !wanted.includes(t));
    if (wanted.length === 0 && wantedCompacted.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        ...wanted.map((topic) => ({ topic, numPartitions: topic.endsWith('.dlq') ? 1 : numPartitions })),
        ...wantedCompacted.map(schemaTopicSpec),
      ],
    });
  } finally {
    await admin.disconnect();
  }
}
