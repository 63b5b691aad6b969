// Dead-letter publishing: a message that fails its schema, or cannot be applied, goes to `<topic>.dlq` with the reason.
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  DLQ_HEADERS,
  cutDeadLetter,
  dlqTopicFor,
  isTooLargeError,
  messageBytes,
} from '@taskwire/contracts';
import type { DeadLetterMessage } from '@taskwire/contracts';
import type { KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';

export interface DeadLetter {
  topic: string;
  partition: number;
  message: KafkaMessage;
  reason: string;
}

export interface DeadLetterSink {
  producer: Producer;
  logger: Logger;
  /** KAFKA_MAX_MESSAGE_BYTES: a larger dead letter goes out cut down (default 900 KiB). */
  maxMessageBytes?: number;
}

interface Outgoing {
  letter: DeadLetter;
  message: DeadLetterMessage;
  bytes: number;
  /** Already the cut-down copy: refused again, it is given up. */
  cut: boolean;
}

/**
 * Publishes the original key and value with the reason and origin in headers (acks -1), in
 * requests of at most maxMessageBytes (kafkajs puts one partition's messages of a request in one
 * record batch). Its callers commit past the letters once this resolves, and a letter Kafka will
 * never take would otherwise fail their partition for ever: one over maxMessageBytes goes out cut
 * down (cutDeadLetter), and so does one Kafka refuses alone as too large (to half its size: the
 * DLQ's limit is lower, by how much Kafka does not say). One refused even cut down is logged as an
 * error naming its coordinates and given up: the original stays in its source topic. Any other
 * failure throws, so nothing is committed and the batch is redelivered.
 */
export async function publishDeadLetters(
  sink: DeadLetterSink,
  letters: readonly DeadLetter[],
): Promise<void> {
  if (letters.length === 0) return;
  const limit = sink.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const out: Outgoing[] = [];
  for (const letter of letters) {
    const message: DeadLetterMessage = {
      key: letter.message.key,
      value: letter.message.value,
      headers: {
        [DLQ_HEADERS.reason]: letter.reason,
        [DLQ_HEADERS.topic]: letter.topic,
        [DLQ_HEADERS.partition]: String(letter.partition),
        [DLQ_HEADERS.offset]: letter.message.offset,
      },
    };
    const bytes = messageBytes(message.key, message.value, message.headers);
    const o = { letter, message, bytes, cut: false };
    if (bytes <= limit) out.push(o);
    else {
      const cut = cutDown(
        sink.logger,
        o,
        limit,
        `${bytes} bytes, more than KAFKA_MAX_MESSAGE_BYTES (${limit})`,
      );
      if (cut) out.push(cut);
    }
  }
  let chunk: Outgoing[] = [];
  let bytes = 0;
  for (const o of out) {
    if (chunk.length > 0 && bytes + o.bytes > limit) {
      await sendChunk(sink, chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(o);
    bytes += o.bytes;
  }
  if (chunk.length > 0) await sendChunk(sink, chunk);
}

async function sendChunk(sink: DeadLetterSink, chunk: readonly Outgoing[]): Promise<void> {
  const byTopic = new Map<string, DeadLetterMessage[]>();
  for (const o of chunk) {
    const topic = dlqTopicFor(o.letter.topic);
    const list = byTopic.get(topic) ?? [];
    list.push(o.message);
    byTopic.set(topic, list);
  }
  try {
    await sink.producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  } catch (err) {
    const tooLarge = isTooLargeError(err);
    if (!tooLarge) throw err;
    // Find the refused one(s): each alone.
    if (chunk.length > 1) {
      for (const o of chunk) await sendChunk(sink, [o]);
      return;
    }
    const o = chunk[0]!;
    const cut = o.cut
      ? null
      : cutDown(sink.logger, o, Math.floor(o.bytes / 2), `refused by Kafka as ${tooLarge}`);
    if (cut) await sendChunk(sink, [cut]);
    else giveUp(sink.logger, o, `refused by Kafka as ${tooLarge}`);
  }
}

/** The cut-down copy of `o` within `fitBytes`, or null (logged) when none fits. */
function cutDown(logger: Logger, o: Outgoing, fitBytes: number, why: string): Outgoing | null {
  const message = cutDeadLetter(o.message, fitBytes);
  if (!message) {
    giveUp(logger, o, why);
    return null;
  }
  const { topic, partition } = o.letter;
  logger.warn(
    { topic, partition, offset: o.letter.message.offset, dlq: dlqTopicFor(topic), bytes: o.bytes, why },
    'dead letter too large for the DLQ; sending it cut down',
  );
  return {
    letter: o.letter,
    message,
    bytes: messageBytes(message.key, message.value, message.headers),
    cut: true,
  };
}

function giveUp(logger: Logger, o: Outgoing, why: string): void {
  const { topic, partition } = o.letter;
  const { offset } = o.letter.message;
  const dlq = dlqTopicFor(topic);
  logger.error(
    { topic, partition, offset, dlq, bytes: o.bytes, why, reason: o.letter.reason },
    `dead letter ${topic}/${partition}@${offset} is too large for ${dlq} even cut down; not dead-lettered, its partition moves on (the message stays in ${topic} until retention)`,
  );
}
