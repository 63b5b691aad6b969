// Coalesces messages produced close together into one kafkajs sendBatch (one request, acks -1).
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
  resolve: () => void;
  reject: (err: Error) => void;
  /** Withdrawn before it was sent: skipped when the next request is built. */
  retracted?: boolean;
  /** Taken into a request (in flight or sent): can no longer be withdrawn. */
  taken?: boolean;
}

/** A message queued with sendRetractable. */
export interface Retractable {
  /** Resolves once acknowledged, or at once when retracted. */
  sent: Promise<void>;
  /** Withdraws the message if it is still waiting for a request; true when it will never be sent. */
  retract(): boolean;
}

/** Messages per request; keeps one request well under the broker's request size limit. */
const MAX_BATCH = 2000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

/**
 * kafkajs sends one request per send() and has no linger, so a worker finishing thousands of tasks
 * a second would pay one round trip per result. This queue sends whatever accumulated while the
 * previous request was in flight as one sendBatch. Exactly one request is in flight at a time,
 * which also keeps each task's messages (started, then its result) in order on the wire. A failed
 * request is retried with backoff until close(): the caller commits dispatch offsets only after
 * the returned promise resolves.
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

  constructor(
    private readonly producer: Producer,
    private readonly logger: Logger,
  ) {}

  send(topic: string, message: OutgoingMessage): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`producer is closed; message for ${topic} not sent`));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Like send, but the message can be withdrawn while it still waits for the next request (the
   * runner drops a task's `started` message this way when the task has already finished).
   */
  sendRetractable(topic: string, message: OutgoingMessage): Retractable {
    let pending!: Pending;
    const sent = this.closed
      ? Promise.reject(new Error(`producer is closed; message for ${topic} not sent`))
      : new Promise<void>((resolve, reject) => {
          pending = { topic, message, resolve, reject };
          this.queue.push(pending);
          this.schedule();
        });
    return {
      sent,
      retract: () => {
        if (!pending || pending.taken || pending.retracted) return pending?.retracted ?? false;
        pending.retracted = true;
        this.retracted++;
        pending.resolve();
        return true;
      },
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
    if (this.queue.length === 0) {
      this.notifyIdle();
      return;
    }
    this.sending = true;
    const batch = this.queue.length <= MAX_BATCH ? this.queue : this.queue.slice(0, MAX_BATCH);
    this.queue = batch === this.queue ? [] : this.queue.slice(MAX_BATCH);
    for (const p of batch) p.taken = true;
    try {
      await this.producer.sendBatch({ acks: -1, topicMessages: groupByTopic(batch) });
      this.retryDelay = RETRY_MIN_MS;
      for (const p of batch) p.resolve();
    } catch (err) {
      if (this.closed) {
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
