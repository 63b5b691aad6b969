// Owns test-only helpers shared by the dev-broker test files (excluded from the build).
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import { pino } from 'pino';
import type { Admin, Consumer, ConsumerConfig, KafkaConfig } from 'kafkajs';
import { brokerTraits } from '@taskwire/testkit';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

/** Broker logs are silenced in tests; failures are visible through the clients. */
export const quietLogger = pino({ level: 'silent' });

export const { Kafka, logLevel, AssignerProtocol, CompressionTypes } = kafkajs;

/** kafkajs's own protocol sources (untyped CommonJS), for golden-byte checks. */
export const requireKafkajs = createRequire(import.meta.url);

export function kafkaFor(brokers: string, extra: Partial<KafkaConfig> = {}): InstanceType<typeof Kafka> {
  return new Kafka({
    brokers: [brokers],
    clientId: `test-${randomBytes(3).toString('hex')}`,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 50, retries: 8 },
    ...extra,
  });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** A session timeout of `ms`, or the broker's minimum if that is longer (real Kafka refuses less than 6 s). */
export function sessionTimeout(ms: number): number {
  return Math.max(ms, brokerTraits.minSessionTimeoutMs);
}

/** Fast group settings for tests: short session, quick heartbeats, short long-polls. */
export function fastConsumer(groupId: string, extra: Partial<ConsumerConfig> = {}): ConsumerConfig {
  return {
    groupId,
    sessionTimeout: sessionTimeout(2500),
    rebalanceTimeout: 4000,
    heartbeatInterval: 250,
    maxWaitTimeInMs: 250,
    retry: { initialRetryTime: 50, retries: 20 },
    ...extra,
  };
}

/** Polls cond until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  what: string,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Partitions assigned to each member of a stable group, from DescribeGroups. */
export async function assignments(admin: Admin, groupId: string): Promise<Map<string, number[]> | null> {
  const { groups } = await admin.describeGroups([groupId]);
  const g = groups[0];
  if (!g || g.state !== 'Stable') return null;
  const out = new Map<string, number[]>();
  for (const m of g.members) {
    const decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
    out.set(
      m.memberId,
      Object.values(decoded?.assignment ?? {})
        .flat()
        .sort((a, b) => a - b),
    );
  }
  return out;
}

/** Resolves once the consumer has completed a fetch (so its starting offsets are resolved). */
export function onceFetched(consumer: Consumer): Promise<void> {
  return new Promise((resolve) => {
    const off = consumer.on(consumer.events.FETCH, () => {
      off();
      resolve();
    });
  });
}
