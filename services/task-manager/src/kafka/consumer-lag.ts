// Consumer lag of the workers' group per queue topic and partition, read from Kafka offsets (admin API).
import type { Admin } from 'kafkajs';

export interface PartitionLag {
  /** `default` for the base dispatch topic, `q` for `<topic>.q`. */
  queue: string;
  partition: number;
  /** Messages after the group's committed offset (all retained ones when it committed none). */
  lag: number;
}

/**
 * Lists the dispatch topics (the base one and `<topic>.<queue>`, DLQs excluded), their end and
 * start offsets, and the group's committed offsets, and subtracts. Three admin requests per topic
 * at most; the caller caches the answer and bounds the wait.
 */
export async function readConsumerLag(
  admin: Admin,
  dispatchTopic: string,
  groupId: string,
): Promise<PartitionLag[]> {
  const topics = (await admin.listTopics())
    .filter((t) => t === dispatchTopic || (t.startsWith(`${dispatchTopic}.`) && !t.endsWith('.dlq')))
    .sort();
  if (topics.length === 0) return [];
  const committed = new Map<string, number>();
  for (const t of await admin.fetchOffsets({ groupId, topics })) {
    for (const p of t.partitions) committed.set(`${t.topic}/${p.partition}`, Number(p.offset));
  }
  const rows: PartitionLag[] = [];
  for (const topic of topics) {
    const queue = topic === dispatchTopic ? 'default' : topic.slice(dispatchTopic.length + 1);
    for (const p of await admin.fetchTopicOffsets(topic)) {
      const high = Number(p.high);
      const low = Number(p.low);
      const at = committed.get(`${topic}/${p.partition}`) ?? -1;
      // -1: nothing committed yet, so every retained message is still to be read.
      rows.push({
        queue,
        partition: p.partition,
        lag: Math.max(0, high - (at < 0 ? low : Math.max(at, low))),
      });
    }
  }
  return rows;
}
