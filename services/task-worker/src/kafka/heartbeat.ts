// Heartbeats: liveness, load, executors and queues of this worker, every HEARTBEAT_INTERVAL_MS.
import { hostname } from 'node:os';
import type { HeartbeatMessage } from '@taskwire/contracts';
import type { Logger } from 'pino';
import type { BatchingProducer } from './batching-producer.js';

export interface HeartbeatOptions {
  producer: BatchingProducer;
  topic: string;
  intervalMs: number;
  logger: Logger;
  info: Omit<HeartbeatMessage, 'v' | 'host' | 'pid' | 'running' | 'at' | 'stopping'>;
  /** Tasks running now. */
  running(): number;
}

export class Heartbeats {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: HeartbeatOptions) {}

  start(): void {
    void this.beat(false);
    this.timer = setInterval(() => void this.beat(false), this.o.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and sends the last heartbeat, with stopping: true. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.beat(true);
  }

  private async beat(stopping: boolean): Promise<void> {
    const message: HeartbeatMessage = {
      v: 1,
      ...this.o.info,
      host: hostname(),
      pid: process.pid,
      running: this.o.running(),
      at: Date.now(),
    };
    if (stopping) message.stopping = true;
    try {
      await this.o.producer.send(this.o.topic, { key: message.worker_id, value: JSON.stringify(message) });
    } catch (err) {
      this.o.logger.warn({ err, topic: this.o.topic }, 'heartbeat not sent');
    }
  }
}
