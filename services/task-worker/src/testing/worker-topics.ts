// Test fixture: fresh topic and group names for a worker under test, its env over them, and a log sink.
import { Writable } from 'node:stream';
import { randomName } from '@taskwire/testkit';

export interface WorkerTopics {
  dispatch: string;
  results: string;
  control: string;
  heartbeats: string;
  group: string;
}

/** New names each call: tests sharing a broker never read each other's messages. */
export function workerTopicNames(): WorkerTopics {
  return {
    dispatch: randomName('dispatch'),
    results: randomName('results'),
    control: randomName('control'),
    heartbeats: randomName('heartbeats'),
    group: randomName('workers'),
  };
}

/** The worker's env for `brokers` and topics `t` (a fresh worker id, a 6 s session), then `extra`. */
export function workerEnv(
  brokers: string,
  t: WorkerTopics,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    KAFKA_BROKERS: brokers,
    TASK_DISPATCH_TOPIC: t.dispatch,
    RESULT_TOPIC: t.results,
    TASK_CONTROL_TOPIC: t.control,
    WORKER_HEARTBEAT_TOPIC: t.heartbeats,
    GROUP_ID: t.group,
    WORKER_ID: randomName('w'),
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    ...extra,
  };
}

/** A pino destination that parses each JSON log line into `lines`. */
export function logLines<Line>(): { lines: Line[]; stream: Writable } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') lines.push(JSON.parse(line) as Line);
      }
      done();
    },
  });
  return { lines, stream };
}
