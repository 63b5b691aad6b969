// One BullMQ worker process for the peer bench (bench/peers/bullmq.mjs forks it): a no-op processor,
// told over IPC when it is ready and when to close.
// argv: <queue name> <concurrency>; env REDIS_URL.
import { Worker } from 'bullmq';

const [queueName, concurrency = '64'] = process.argv.slice(2);
if (!queueName || !process.send) {
  console.error('usage: forked by bench/peers/bullmq.mjs with <queue name> <concurrency>');
  process.exit(2);
}

// BullMQ's workers need maxRetriesPerRequest null on their (blocking) connection.
const worker = new Worker(queueName, async () => {}, {
  connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', maxRetriesPerRequest: null },
  concurrency: Number(concurrency),
});
worker.on('error', (err) => console.error(`bullmq worker ${process.pid}: ${err.message}`));

async function close() {
  await worker.close();
  process.exit(0);
}
process.on('message', (m) => {
  if (m === 'close') void close();
});
process.on('SIGTERM', () => void close());
// The parent going away (even by SIGKILL) must not leave a worker polling Redis.
process.on('disconnect', () => void close());

await worker.waitUntilReady();
process.send('ready');
