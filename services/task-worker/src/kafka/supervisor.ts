// Keeps the worker connected to Kafka: (re)connects with capped backoff, at start-up and after any loss.
import type { Logger } from 'pino';

export interface SupervisorOptions {
  logger: Logger;
  /** Connects everything and resolves once consuming; throws (or reports lost()) when it cannot. */
  connect(): Promise<void>;
  /** Drops whatever connect() built, so the next connect() starts clean. Must not throw. */
  teardown(): Promise<void>;
  /** First and largest wait between attempts; the wait doubles, with up to 20% taken off at random. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface KafkaStatus {
  ready: boolean;
  /** Why the worker is not ready (absent when ready). */
  reason?: string;
}

const describe = (err: unknown): string =>
  err instanceof Error ? `${err.name}: ${err.message}` : String(err);

/**
 * kafkajs gives up: a producer's connect() fails after its retries (~10 s), and a consumer that
 * crashes on a non-retriable error stays stopped. A worker exists only to consume, so it never gives
 * up: every failure tears the Kafka side down and tries again after 1 s, 2 s, 4 s … 30 s, logging
 * each retry once at warn with the reason, like the manager's relay keeps retrying. Tasks already
 * running go on meanwhile; their results wait in the producer's queue.
 */
export class KafkaSupervisor {
  private state: KafkaStatus = { ready: false, reason: 'connecting to Kafka' };
  private attempt = 0;
  private stopped = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readyWaiters: Array<() => void> = [];
  /** Failure reported by lost() while an attempt is in progress. */
  private pendingFailure: string | undefined;
  /** connect() ran since the last teardown. */
  private dirty = false;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(private readonly o: SupervisorOptions) {
    this.minDelayMs = o.minDelayMs ?? 1000;
    this.maxDelayMs = o.maxDelayMs ?? 30_000;
  }

  status(): KafkaStatus {
    return { ...this.state };
  }

  /** Starts connecting; resolves once the first connection is up (or the supervisor is stopped). */
  start(): Promise<void> {
    const ready = this.whenReady();
    this.running ??= this.loop();
    return ready;
  }

  /** Resolves the next time the worker is ready (at once if it is), or when stopped. */
  whenReady(): Promise<void> {
    if (this.state.ready || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Reports a failure after connecting (a consumer crashed): tear down and reconnect. */
  lost(err: unknown): void {
    if (this.stopped) return;
    const reason = describe(err);
    if (!this.state.ready) {
      // Still connecting: the attempt in progress fails with this reason.
      this.pendingFailure ??= reason;
      return;
    }
    this.state = { ready: false, reason };
    this.running = (this.running ?? Promise.resolve()).then(() => this.loop());
  }

  /**
   * Stops reconnecting (shutdown). Waits up to `waitMs` for an attempt in progress (kafkajs' own
   * connect retries can take ~10 s); one that finishes later tears down what it built.
   */
  async stop(waitMs = 1000): Promise<void> {
    this.stopped = true;
    this.wake?.();
    for (const w of this.readyWaiters.splice(0)) w();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.running?.catch(() => undefined),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs))),
    ]);
    clearTimeout(timer);
  }

  /** True once stop() was called: connect() steps check it to end early. */
  get isStopped(): boolean {
    return this.stopped;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      // After a loss the old clients are still half-alive: start from a clean slate.
      if (this.dirty) await this.o.teardown();
      this.dirty = true;
      this.pendingFailure = undefined;
      let failure: string | undefined;
      try {
        await this.o.connect();
        failure = this.pendingFailure;
      } catch (err) {
        failure = describe(err);
      }
      if (this.stopped) {
        await this.o.teardown();
        return;
      }
      if (failure === undefined) {
        if (this.attempt > 0) this.o.logger.info({ attempts: this.attempt }, 'connected to Kafka');
        this.attempt = 0;
        this.state = { ready: true };
        for (const w of this.readyWaiters.splice(0)) w();
        return;
      }
      this.attempt++;
      const cap = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** (this.attempt - 1));
      const delay = Math.round(cap * (1 - Math.random() * 0.2));
      this.state = { ready: false, reason: failure };
      this.o.logger.warn(
        { reason: failure, attempt: this.attempt, retryInMs: delay },
        `Kafka unavailable (${failure}); retrying in ${delay} ms`,
      );
      await this.o.teardown();
      this.dirty = false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }
}
