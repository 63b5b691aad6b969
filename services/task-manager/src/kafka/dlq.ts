// Dead-letter publishing: a message that fails its schema, or cannot be applied, goes to `<topic>.dlq` with the reason.
import { DLQ_HEADERS, dlqTopicFor } from '@taskwire/contracts';
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
          [DLQ_HEADERS.reason]: l.reason,
          [DLQ_HEADERS.topic]: l.topic,
          [DLQ_HEADERS.partition]: String(l.partition),
          [DLQ_HEADERS.offset]: l.message.offset,
        },
      })),
    })),
  });
}
