// One vitest run for the whole workspace: every test on the dev broker, plus the Kafka-facing ones again on real Apache Kafka.
import { defineConfig } from 'vitest/config';
import { locateKafka } from './packages/testkit/src/kafka-home.ts';

const ALL = ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'test/**/*.test.ts'];

/**
 * The files that check Kafka semantics through a broker: they run a second time with
 * TASKWIRE_TEST_BROKER=kafka, where the testkit fixture and test/support start real Kafka instead.
 */
const KAFKA_FACING = [
  'packages/dev-broker/src/groups.int.test.ts',
  'packages/dev-broker/src/records.int.test.ts',
  'services/task-manager/src/kafka/*.int.test.ts',
  'services/task-worker/src/worker.int.test.ts',
  'services/task-worker/src/leave.int.test.ts',
  'services/task-worker/src/kafka/dispatch-consumer.int.test.ts',
  'services/task-worker/src/unpublishable-result.int.test.ts',
  'services/task-worker/src/dlq-too-large.int.test.ts',
  'test/pipeline.e2e.test.ts',
  'test/scheduling.e2e.test.ts',
  'test/outage.e2e.test.ts',
  'test/broker-crash.e2e.test.ts',
  'test/worker-uptime.e2e.test.ts',
  'test/dlq.e2e.test.ts',
  'test/schema-refs.e2e.test.ts',
];
/** Starts both kinds itself and compares them: only in the kafka project. */
const CONFORMANCE = 'packages/testkit/src/conformance.int.test.ts';

const kafka = locateKafka();
// Without ../shared/kafka or Java a clone still tests everything on the dev broker, but says so loudly;
// under CI the kafka project runs anyway and fails naming what is missing.
const runKafka = kafka.ok || Boolean(process.env.CI);
// vitest evaluates this file more than once per run: one banner is enough.
if (!runKafka && !process.env.TASKWIRE_KAFKA_SKIP_SHOWN) {
  process.env.TASKWIRE_KAFKA_SKIP_SHOWN = '1';
  process.stderr.write(
    `\n${'!'.repeat(100)}\n!! SKIPPING the real-Kafka test project: ${kafka.ok ? '' : kafka.missing}\n` +
      `!! Only the dev broker is tested. Set CI=1 to make this a failure.\n${'!'.repeat(100)}\n\n`,
  );
}

export default defineConfig({
  test: {
    pool: 'forks',
    // Two cores: two test files at a time, across both projects (a real Kafka file keeps a JVM busy too).
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'dev', include: ALL, exclude: [CONFORMANCE, '**/node_modules/**'] } },
      ...(runKafka
        ? [
            {
              extends: true,
              test: {
                name: 'kafka',
                include: [...KAFKA_FACING, CONFORMANCE],
                env: { TASKWIRE_TEST_BROKER: 'kafka' },
                // Real Kafka starts in 3-10 s and restarts after kill -9 in ~11 s.
                hookTimeout: 120_000,
                testTimeout: 180_000,
                globalSetup: ['test/support/kafka-global-setup.ts'],
              },
            },
          ]
        : []),
    ],
  },
});
