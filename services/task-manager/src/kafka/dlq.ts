// Dead-letter publishing: a message that fails its schema goes to `<topic>.dlq` with the reason.
import { dlqTopicFor } from '@taskwire/contracts';
import type { KafkaMessage, Producer } from 'kafkajs';

export interface DeadLetter {
  topic: string;
  partition: number;
  message: KafkaMessage;
  reason: string;
}

/** Publishes the original key and value with the reason and origin in headers. */
export async function publishDeadLetters(producer: Producer, letters: readonly DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  const byTopic = new Map<string, DeadLetter[]>();
  for (const l of letters) {
    const list = byTopic.get(l.topic) ?? [];
    list.push(l);
    byTopic.set(l.topic, list);
  }
  await producer.sendBatch({
    acks: -1,
    topicMessages: [...byTopic].map(([topic, list]) => ({
      topic: dlqTopicFor(topic),
      messages: list.map((l) => ({
        key: l.message.key,
        value: l.message.value,
        headers: {
          'x-dlq-reason': l.reason,
          'x-dlq-topic': l.topic,
          'x-dlq-partition': String(l.partition),
          'x-dlq-offset': l.message.offset,
        },
      })),
    })),
  });
}
