// Coalesces messages produced close together into kafkajs sendBatch requests (acks -1) bounded in bytes.
import { DEFAULT_MAX_MESSAGE_BYTES, isTooLargeError, messageBytes } from '@taskwire/contracts';
import type { IHeaders, Producer, TopicMessages } from 'kafkajs';
import type { Logger } from 'pino';

export interface OutgoingMessage {
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers?: IHeaders;
}

interface Pending {
  topic: string;
  message: OutgoingMessage;
  /** messageBytes of `message`. */
  bytes: number;
  /** The value of a retractable message, serialised only once its request is being built. */
  encode?: () => string;
  /** Already the replacement of a message refused as too large: refused again, it is rejected. */
  replaced?: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
  /** Withdrawn before it was sent: skipped when the next request is built. */
  retracted?: boolean;
  /** Taken into a request (in flight or sent): can no longer be withdrawn. */
  taken?: boolean;
}

const noop = (): void => undefined;

/** Messages per request at most (the byte budget usually ends a request first). */
const MAX_BATCH = 2000;

export interface BatchingProducerOptions {
  /** KAFKA_MAX_MESSAGE_BYTES: a larger message is replaced (replaceTooLarge) or rejected, never sent. */
  maxMessageBytes?: number;
  /**
   * Bytes of messages per request (default maxMessageBytes): kafkajs puts one partition's messages
   * of a request in one record batch, which the broker checks against its message.max.bytes.
   */
  maxRequestBytes?: number;
  /**
   * What to send instead of a message that is too large (over maxMessageBytes, or refused by Kafka
   * as MESSAGE_TOO_LARGE / RECORD_LIST_TOO_LARGE), e.g. a failed result naming the limit; null:
   * reject that message's promise. `reason` names the limit; `fitBytes` is what the replacement
   * should take at most (messageBytes, headers included): maxMessageBytes, or half the refused
   * message when Kafka refused one within it (its limit is lower; by how much it does not say).
   */
  replaceTooLarge?(
    topic: string,
    message: OutgoingMessage,
    reason: string,
    fitBytes: number,
  ): OutgoingMessage | null;
}

/** Thrown (as a rejection) for a message too large to send that has no replacement. */
export class MessageTooLargeError extends Error {
  override readonly name = 'MessageTooLargeError';
}
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

/**
 * kafkajs sends one request per send() and has no linger, so a worker finishing thousands of tasks
 * a second would pay one round trip per result. This queue sends whatever accumulated while the
 * previous request was in flight as one sendBatch. Exactly one request is in flight at a time,
 * which also keeps each task's messages (started, then its result) in order on the wire. A failed
 * request is retried with backoff until close(): the caller commits dispatch offsets only after
 * the returned promise resolves.
 *
 * One message too large must not block the queue behind it (a retried request would fail the
 * same way forever): a request holds at most maxRequestBytes; a message over maxMessageBytes is
 * replaced or rejected before it is queued; a request Kafka refuses as too large is halved until
 * the refused message is alone, and that one is replaced or rejected.
 */
export class BatchingProducer {
  private queue: Pending[] = [];
  private sending = false;
  private scheduled = false;
  private closed = false;
  private retryDelay = RETRY_MIN_MS;
  private idleWaiters: (() => void)[] = [];
  /** Retracted messages still in the queue. */
  private retracted = 0;
  /** Messages per request: MAX_BATCH, or less while halving a request Kafka refused as too large. */
  private maxCount = MAX_BATCH;
  private readonly maxMessageBytes: number;
  private readonly maxRequestBytes: number;

  constructor(
    private readonly producer: Producer,
    private readonly logger: Logger,
    private readonly options: BatchingProducerOptions = {},
  ) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxRequestBytes = Math.max(this.maxMessageBytes, options.maxRequestBytes ?? this.maxMessageBytes);
  }

  send(topic: string, message: OutgoingMessage): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`producer is closed; message for ${topic} not sent`));
    return new Promise<void>((resolve, reject) => {
      const pending = this.sized(topic, message, resolve, reject);
      if (!pending) return;
      this.queue.push(pending);
      this.schedule();
    });
  }

  /** The pending entry for `message`, replaced when over maxMessageBytes; null when rejected so. */
  private sized(
    topic: string,
    message: OutgoingMessage,
    resolve: () => void,
    reject: (err: Error) => void,
  ): Pending | null {
    const bytes = messageBytes(message.key, message.value, message.headers);
    const pending: Pending = { topic, message, bytes, resolve, reject };
    if (bytes <= this.maxMessageBytes) return pending;
    const reason = `${bytes} bytes, more than KAFKA_MAX_MESSAGE_BYTES (${this.maxMessageBytes})`;
    return this.replace(pending, reason, this.maxMessageBytes) ? pending : null;
  }

  /** Swaps in the replacement of a too-large message (true), or rejects it (false). */
  private replace(p: Pending, reason: string, fitBytes: number): boolean {
    const replacement = p.replaced
      ? null
      : (this.options.replaceTooLarge?.(p.topic, p.message, reason, fitBytes) ?? null);
    const bytes = replacement ? messageBytes(replacement.key, replacement.value, replacement.headers) : 0;
    if (!replacement || bytes > this.maxMessageBytes) {
      this.logger.warn({ topic: p.topic, reason }, 'message too large for Kafka; not sent');
      p.reject(new MessageTooLargeError(`message for ${p.topic} is too large: ${reason}`));
      return false;
    }
    this.logger.warn({ topic: p.topic, reason }, 'message too large for Kafka; sending its replacement');
    p.message = replacement;
    p.bytes = bytes;
    p.replaced = true;
    return true;
  }

  /**
   * Like send, but the message can be withdrawn while it still waits for the next request (the
   * runner drops a task's `started` message this way when the task has already finished), and its
   * value is serialised only when that request is built: a withdrawn one never is. Fire-and-forget:
   * a message that cannot be sent is logged, nobody waits for it. Returns the function that
   * withdraws it: true when it will never be sent.
   */
  sendRetractable(topic: string, key: string, value: () => string): () => boolean {
    if (this.closed) {
      this.logger.debug({ topic }, 'producer is closed; retractable message not sent');
      return () => true;
    }
    const pending: Pending = {
      topic,
      message: { key, value: null },
      bytes: 0,
      encode: value,
      resolve: noop,
      reject: (err) => this.logger.debug({ err, topic }, 'a retractable message was not sent'),
    };
    this.queue.push(pending);
    this.schedule();
    return () => {
      if (pending.taken || pending.retracted) return pending.retracted ?? false;
      pending.retracted = true;
      this.retracted++;
      return true;
    };
  }

  /**
   * Resolves true when everything queued so far has been sent (or rejected), false after
   * `timeoutMs` (the broker is unreachable and requests are still being retried).
   */
  flush(timeoutMs = Infinity): Promise<boolean> {
    if (!this.sending && this.queue.length === this.retracted) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = Number.isFinite(timeoutMs) ? setTimeout(() => resolve(false), timeoutMs) : undefined;
      this.idleWaiters.push(() => {
        if (timer) clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Stops retrying: anything still queued is rejected. */
  close(): void {
    this.closed = true;
    const left = this.queue;
    this.queue = [];
    this.retracted = 0;
    for (const p of left) p.reject(new Error(`producer closed before the message for ${p.topic} was sent`));
    if (!this.sending) this.notifyIdle();
  }

  get queued(): number {
    return this.queue.length - this.retracted;
  }

  private schedule(): void {
    if (this.sending || this.scheduled) return;
    this.scheduled = true;
    // setImmediate: collect everything produced in this turn of the event loop into one request.
    setImmediate(() => {
      this.scheduled = false;
      void this.sendNext();
    });
  }

  private async sendNext(): Promise<void> {
    if (this.sending) return;
    if (this.retracted > 0) {
      this.queue = this.queue.filter((p) => !p.retracted);
      this.retracted = 0;
    }
    this.encodeRetractables();
    if (this.queue.length === 0) {
      this.notifyIdle();
      return;
    }
    this.sending = true;
    let count = 0;
    let bytes = 0;
    for (const p of this.queue) {
      if (count >= this.maxCount || (count > 0 && bytes + p.bytes > this.maxRequestBytes)) break;
      count++;
      bytes += p.bytes;
    }
    const batch = count === this.queue.length ? this.queue : this.queue.slice(0, count);
    this.queue = batch === this.queue ? [] : this.queue.slice(count);
    for (const p of batch) p.taken = true;
    try {
      await this.producer.sendBatch({ acks: -1, topicMessages: groupByTopic(batch) });
      this.retryDelay = RETRY_MIN_MS;
      this.maxCount = MAX_BATCH;
      for (const p of batch) p.resolve();
    } catch (err) {
      const tooLarge = isTooLargeError(err);
      if (tooLarge && !this.closed) {
        // Halve until the refused message is alone; a message Kafka refuses alone is replaced or dropped.
        if (batch.length > 1) {
          this.maxCount = Math.ceil(batch.length / 2);
          this.queue = batch.concat(this.queue);
        } else if (
          this.replace(
            batch[0]!,
            `refused by Kafka as ${tooLarge}`,
            Math.min(this.maxMessageBytes, Math.floor(batch[0]!.bytes / 2)),
          )
        ) {
          this.queue = batch.concat(this.queue);
        }
      } else if (this.closed) {
        for (const p of batch) p.reject(err as Error);
      } else {
        this.logger.warn(
          { err, messages: batch.length, retryInMs: this.retryDelay },
          'producing failed; retrying',
        );
        await new Promise((r) => setTimeout(r, this.retryDelay));
        this.retryDelay = Math.min(RETRY_MAX_MS, this.retryDelay * 2);
        this.queue = batch.concat(this.queue);
      }
    } finally {
      this.sending = false;
    }
    if (this.queue.length > 0 && this.closed) this.close();
    if (this.queue.length > 0) void this.sendNext();
    else this.notifyIdle();
  }

  /** Serialises the retractable messages still queued (sized as send does), dropping any rejected. */
  private encodeRetractables(): void {
    let rejected = false;
    for (let i = 0; i < this.queue.length; i++) {
      const p = this.queue[i]!;
      if (!p.encode) continue;
      const value = p.encode();
      p.encode = undefined;
      p.message = { key: p.message.key, value };
      p.bytes = messageBytes(p.message.key, value);
      if (p.bytes > this.maxMessageBytes) {
        const reason = `${p.bytes} bytes, more than KAFKA_MAX_MESSAGE_BYTES (${this.maxMessageBytes})`;
        if (!this.replace(p, reason, this.maxMessageBytes)) {
          p.retracted = true;
          rejected = true;
        }
      }
    }
    if (rejected) this.queue = this.queue.filter((p) => !p.retracted);
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

function groupByTopic(batch: Pending[]): TopicMessages[] {
  const first = batch[0]!.topic;
  if (batch.every((p) => p.topic === first)) return [{ topic: first, messages: batch.map((p) => p.message) }];
  const byTopic = new Map<string, OutgoingMessage[]>();
  for (const p of batch) {
    const list = byTopic.get(p.topic);
    if (list) list.push(p.message);
    else byTopic.set(p.topic, [p.message]);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
