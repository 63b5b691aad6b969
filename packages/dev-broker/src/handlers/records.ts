// Owns the data-path handlers: Produce (append), Fetch (with long-poll) and ListOffsets.
import type { PartitionLog } from '../log/partition-log.js';
import { isLegalTopicName } from '../log/log-manager.js';
import type { Topic } from '../log/log-manager.js';
import { ErrorCode } from '../protocol/errors.js';
import { decodeFetchRequest, encodeFetchResponse } from '../protocol/fetch/v4.js';
import type { FetchPartitionResponse, FetchRequest, FetchResponse } from '../protocol/fetch/v4.js';
import { decodeListOffsetsRequestV0, encodeListOffsetsResponseV0 } from '../protocol/list-offsets/v0.js';
import { decodeListOffsetsRequest, encodeListOffsetsResponse } from '../protocol/list-offsets/v3.js';
import type { ListOffsetsResponse } from '../protocol/list-offsets/v3.js';
import { decodeProduceRequest, encodeProduceResponse } from '../protocol/produce/v3.js';
import type { ProduceResponse } from '../protocol/produce/v3.js';
import { batchMaxTimestamp, findTimestampInBatch, splitBatches } from '../protocol/record-batch.js';
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import { NO_RESPONSE } from './context.js';
import type { BrokerContext, Connection, Handler, HandlerResult } from './context.js';

/** The topic, auto-creating it when the broker allows and the name is legal. */
export function topicOrCreate(ctx: BrokerContext, name: string, allowCreate: boolean): Topic | undefined {
  const existing = ctx.logs.get(name);
  if (existing || !allowCreate || !ctx.options.autoCreateTopics || !isLegalTopicName(name)) return existing;
  return ctx.logs.create(name, ctx.options.defaultPartitions);
}

export function handleProduce(
  ctx: BrokerContext,
  _conn: Connection,
  r: Reader,
  w: Writer,
  version: number,
): HandlerResult {
  const req = decodeProduceRequest(r, version);
  const badAcks = req.acks !== 0 && req.acks !== 1 && req.acks !== -1;
  let appended = false;
  const res: ProduceResponse = { topics: [] };
  for (const t of req.topics) {
    const topic = badAcks ? undefined : topicOrCreate(ctx, t.name, true);
    const partitions = t.partitions.map(({ partition, records }) => {
      let errorCode: number = badAcks ? ErrorCode.INVALID_REQUIRED_ACKS : ErrorCode.NONE;
      let baseOffset = -1;
      const log = topic?.partitions[partition];
      if (errorCode === ErrorCode.NONE && !log) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      else if (errorCode === ErrorCode.NONE && records && records.length > ctx.options.maxBatchBytes) {
        errorCode = ErrorCode.MESSAGE_TOO_LARGE;
      } else if (errorCode === ErrorCode.NONE && log) {
        const batches = records ? splitBatches(records, ctx.options.verifyCrc) : ErrorCode.CORRUPT_MESSAGE;
        if (typeof batches === 'number') errorCode = batches;
        else {
          baseOffset = log.append(batches);
          appended = true;
        }
      }
      if (errorCode !== ErrorCode.NONE) {
        ctx.logger.debug({ topic: t.name, partition, errorCode }, 'produce rejected');
      }
      return { partition, errorCode, baseOffset };
    });
    res.topics.push({ name: t.name, partitions });
  }
  if (appended) ctx.logs.markDirty();
  if (req.acks === 0) return NO_RESPONSE;
  encodeProduceResponse(w, res, version);
}

interface FetchState {
  response: FetchResponse;
  bytes: number;
  error: boolean;
  logs: PartitionLog[];
}

function collectFetch(ctx: BrokerContext, req: FetchRequest): FetchState {
  let bytes = 0;
  let error = false;
  const logs: PartitionLog[] = [];
  const topics = req.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p): FetchPartitionResponse => {
      const log = ctx.logs.partition(t.name, p.partition);
      if (!log) {
        error = true;
        return {
          partition: p.partition,
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          highWatermark: -1,
          batches: [],
        };
      }
      logs.push(log);
      const out: Buffer[] = [];
      if (p.fetchOffset > log.nextOffset || p.fetchOffset < log.startOffset) {
        error = true;
        return {
          partition: p.partition,
          errorCode: ErrorCode.OFFSET_OUT_OF_RANGE,
          highWatermark: log.nextOffset,
          batches: out,
        };
      }
      const room = Math.min(p.maxBytes, req.maxBytes - bytes);
      if (room > 0 && p.fetchOffset < log.nextOffset) bytes += log.read(p.fetchOffset, room, out);
      return {
        partition: p.partition,
        errorCode: ErrorCode.NONE,
        highWatermark: log.nextOffset,
        batches: out,
      };
    }),
  }));
  return { response: { topics }, bytes, error, logs };
}

/**
 * Answers at once when min_bytes are available (or on error); otherwise parks the request on its
 * partitions and answers on the first append that satisfies min_bytes, or at max_wait. No polling:
 * an idle consumer costs one timer. The answer is collected in a microtask after that append, so it
 * carries everything the same Produce request appended: a produce spread over a consumer's several
 * partitions reaches it in one fetch response, not one partition now and the rest a round trip later.
 */
export function handleFetch(ctx: BrokerContext, conn: Connection, r: Reader, w: Writer): HandlerResult {
  const req = decodeFetchRequest(r);
  const first = collectFetch(ctx, req);
  if (first.error || first.bytes >= req.minBytes || req.maxWaitMs <= 0 || conn.closed) {
    encodeFetchResponse(w, first.response);
    return;
  }
  const logs = first.logs;
  return new Promise<void>((resolve) => {
    let done = false;
    let scheduled = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const log of logs) log.waiters.delete(check);
      conn.onClose.delete(finish);
      encodeFetchResponse(w, collectFetch(ctx, req).response);
      resolve();
    };
    const check = (): void => {
      if (scheduled) return;
      let available = 0;
      for (const t of req.topics) {
        for (const p of t.partitions) {
          const log = ctx.logs.partition(t.name, p.partition);
          if (!log) return finish(); // deleted while waiting: answer with the error now
          available += log.available(p.fetchOffset, req.minBytes);
        }
      }
      if (available >= req.minBytes) {
        scheduled = true;
        queueMicrotask(finish);
      }
    };
    const timer = setTimeout(finish, req.maxWaitMs);
    for (const log of logs) log.waiters.add(check);
    conn.onClose.add(finish);
  });
}

/** Offset for ListOffsets: -1 latest, -2 earliest, else the first record at or after the timestamp. */
function lookupOffset(log: PartitionLog, timestamp: number): [offset: number, timestamp: number] {
  if (timestamp === -1) return [log.nextOffset, -1];
  if (timestamp === -2) return [log.startOffset, -1];
  for (const b of log.scan()) {
    if (batchMaxTimestamp(b.buf) < timestamp) continue;
    const hit = findTimestampInBatch(b.buf, timestamp);
    if (hit) return hit;
  }
  return [-1, -1];
}

export const handleListOffsets: Handler = (ctx, _conn, r, w, version) => {
  const req = version === 0 ? decodeListOffsetsRequestV0(r) : decodeListOffsetsRequest(r, version);
  const res: ListOffsetsResponse = {
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map(({ partition, timestamp }) => {
        const log = ctx.logs.partition(t.name, partition);
        if (!log)
          return { partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, timestamp: -1, offset: -1 };
        const [offset, ts] = lookupOffset(log, timestamp);
        return { partition, errorCode: ErrorCode.NONE, timestamp: ts, offset };
      }),
    })),
  };
  if (version === 0) encodeListOffsetsResponseV0(w, res);
  else encodeListOffsetsResponse(w, res, version);
};
