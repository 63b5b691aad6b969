// Unit tests of the Kafka supervisor: retries with growing waits, readiness with a reason, reconnects after a loss.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { KafkaSupervisor } from './supervisor.js';

const silent = pino({ level: 'silent' });

function harness(failures: number) {
  const calls: string[] = [];
  let left = failures;
  const supervisor = new KafkaSupervisor({
    logger: silent,
    minDelayMs: 5,
    maxDelayMs: 20,
    async connect() {
      calls.push('connect');
      if (left-- > 0) throw new Error(`broker down (${left + 1} more)`);
    },
    async teardown() {
      calls.push('teardown');
    },
  });
  return { supervisor, calls };
}

describe('KafkaSupervisor', () => {
  it('is not ready, with the reason, until a connect succeeds, and never gives up before that', async () => {
    const { supervisor, calls } = harness(6);
    const ready = supervisor.start();
    expect(supervisor.status()).toEqual({ ready: false, reason: 'connecting to Kafka' });
    await ready;
    expect(supervisor.status()).toEqual({ ready: true });
    // Every failed attempt is torn down before the next one.
    expect(calls).toEqual([...Array(6).fill(['connect', 'teardown']).flat(), 'connect']);
    await supervisor.stop();
  });

  it('reports the last failure as the reason while retrying', async () => {
    const { supervisor } = harness(1000);
    void supervisor.start();
    await new Promise((r) => setTimeout(r, 30));
    expect(supervisor.status()).toEqual({
      ready: false,
      reason: expect.stringMatching(/^Error: broker down/),
    });
    await supervisor.stop();
  });

  it('tears down and reconnects after a loss, and is ready again', async () => {
    const { supervisor, calls } = harness(0);
    await supervisor.start();
    supervisor.lost(new Error('consumer crashed'));
    expect(supervisor.status()).toEqual({ ready: false, reason: 'Error: consumer crashed' });
    await supervisor.whenReady();
    expect(supervisor.status().ready).toBe(true);
    expect(calls).toEqual(['connect', 'teardown', 'connect']);
    await supervisor.stop();
  });

  it('fails the attempt in progress when a loss is reported during it', async () => {
    let reportLoss = true;
    const calls: string[] = [];
    const supervisor: KafkaSupervisor = new KafkaSupervisor({
      logger: silent,
      minDelayMs: 5,
      async connect() {
        calls.push('connect');
        if (reportLoss) {
          reportLoss = false;
          supervisor.lost(new Error('crashed while joining'));
        }
      },
      async teardown() {
        calls.push('teardown');
      },
    });
    await supervisor.start();
    expect(calls).toEqual(['connect', 'teardown', 'connect']);
    await supervisor.stop();
  });

  it('stops retrying once stopped', async () => {
    const { supervisor, calls } = harness(1000);
    void supervisor.start();
    await new Promise((r) => setTimeout(r, 20));
    await supervisor.stop();
    const count = calls.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(calls.length).toBe(count);
  });
});
