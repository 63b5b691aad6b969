// Benchmark of @taskwire/dev-broker through unmodified kafkajs: produce and consume throughput,
// end-to-end latency of single messages, and the broker's own CPU and memory. The broker runs as a
// child process (its CLI) so that its CPU is measured apart from the kafkajs clients in this one.
// Run from /work/main/bench after building: `node dev-broker.mjs` (env: MESSAGES, IN_FLIGHT,
// LATENCY_SAMPLES; BROKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the broker).
import { spawn } from 'node:child_process';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import kafkajs from 'kafkajs';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { Kafka, logLevel } = kafkajs;
const MESSAGES = Number(process.env.MESSAGES ?? 200_000);
const BATCH = 100;
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 16);
const PARTITIONS = 6;
const LATENCY_SAMPLES = Number(process.env.LATENCY_SAMPLES ?? 1000);
const PHASE_LIMIT_MS = 60_000;
const CLK_TCK = 100; // Linux USER_HZ

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(dirname(fileURLToPath(import.meta.resolve('@taskwire/dev-broker'))), 'cli.js');

function startBrokerProcess() {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BROKER_NODE_ARGS ?? '').split(' ').filter(Boolean),
      cli,
      '--port',
      '0',
      '--log-level',
      'info',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve({ child, brokers: JSON.parse(line).brokers }));
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
  });
}

/** CPU seconds (user + system) the broker process has used so far. */
function brokerCpu(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
}

function brokerMemory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMiB: +(kb('VmRSS') / 1024).toFixed(1), peakRssMiB: +(kb('VmHWM') / 1024).toFixed(1) };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main() {
  const { child, brokers } = await startBrokerProcess();
  const pid = child.pid;
  const kafka = new Kafka({ brokers: [brokers], clientId: 'bench', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = `bench-${Date.now()}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
  const producer = kafka.producer();
  await producer.connect();

  // Produce: batches of 100 x 200-byte messages, a few sends in flight, bounded in time.
  const payload = Buffer.alloc(200, 'x');
  const batch = Array.from({ length: BATCH }, (_, i) => ({ key: `k${i}`, value: payload }));
  let produced = 0;
  let cpu0 = brokerCpu(pid);
  let t0 = performance.now();
  const deadline = Date.now() + PHASE_LIMIT_MS;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (produced < MESSAGES && Date.now() < deadline) {
        produced += BATCH;
        await producer.send({ topic, messages: batch, acks: 1 });
      }
    }),
  );
  const produceSec = (performance.now() - t0) / 1000;
  const produceCpu = brokerCpu(pid) - cpu0;

  // Consume everything from the beginning with one consumer-group member.
  const consumer = kafka.consumer({ groupId: `bench-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let consumed = 0;
  cpu0 = brokerCpu(pid);
  t0 = performance.now();
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, PHASE_LIMIT_MS);
    consumer.run({
      eachBatch: async ({ batch }) => {
        consumed += batch.messages.length;
        if (consumed >= produced) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  const consumeSec = (performance.now() - t0) / 1000;
  const consumeCpu = brokerCpu(pid) - cpu0;
  await consumer.disconnect();

  // Latency: one message at a time, send -> eachMessage, on a fresh 1-partition topic.
  const latTopic = `${topic}-lat`;
  await admin.createTopics({ topics: [{ topic: latTopic, numPartitions: 1 }] });
  const latConsumer = kafka.consumer({ groupId: `${latTopic}-g` });
  await latConsumer.connect();
  await latConsumer.subscribe({ topic: latTopic });
  let onMessage = null;
  const ready = new Promise((resolve) => {
    const off = latConsumer.on(latConsumer.events.FETCH_START, () => {
      off();
      resolve();
    });
  });
  await latConsumer.run({ eachMessage: async () => onMessage?.() });
  await ready;
  await new Promise((r) => setTimeout(r, 300));
  const samples = [];
  cpu0 = brokerCpu(pid);
  const latStart = Date.now();
  for (let i = 0; i < LATENCY_SAMPLES && Date.now() - latStart < PHASE_LIMIT_MS; i++) {
    const received = new Promise((resolve) => (onMessage = resolve));
    const start = performance.now();
    await producer.send({ topic: latTopic, messages: [{ value: payload }], acks: 1 });
    await received;
    samples.push(performance.now() - start);
  }
  const latencyCpu = brokerCpu(pid) - cpu0;
  samples.sort((a, b) => a - b);

  // Idle: a parked consumer must cost (almost) nothing.
  cpu0 = brokerCpu(pid);
  await new Promise((r) => setTimeout(r, 3000));
  const idleCpu = brokerCpu(pid) - cpu0;
  const memory = brokerMemory(pid);

  await latConsumer.disconnect();
  await producer.disconnect();
  await admin.disconnect();
  child.kill('SIGTERM');

  const round = (n, d = 0) => +n.toFixed(d);
  const summary = {
    bench: 'dev-broker',
    date: new Date().toISOString(),
    node: process.version,
    messageBytes: payload.length,
    batchSize: BATCH,
    sendsInFlight: IN_FLIGHT,
    partitions: PARTITIONS,
    produce: {
      messages: produced,
      seconds: round(produceSec, 2),
      msgPerSec: round(produced / produceSec),
      brokerCpuSec: round(produceCpu, 2),
      brokerCpuUsPerMsg: round((produceCpu * 1e6) / produced, 2),
    },
    consume: {
      messages: consumed,
      seconds: round(consumeSec, 2),
      msgPerSec: round(consumed / consumeSec),
      brokerCpuSec: round(consumeCpu, 2),
      brokerCpuUsPerMsg: round((consumeCpu * 1e6) / Math.max(consumed, 1), 2),
    },
    latencyMs: {
      samples: samples.length,
      p50: round(percentile(samples, 50), 2),
      p99: round(percentile(samples, 99), 2),
      max: round(samples[samples.length - 1], 2),
      brokerCpuUsPerMsg: round((latencyCpu * 1e6) / samples.length, 1),
    },
    idleBrokerCpuPercent: round((idleCpu / 3) * 100, 2),
    broker: memory,
  };
  const out = JSON.stringify(summary, null, 2);
  console.log(out);
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'dev-broker.json'), out + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
