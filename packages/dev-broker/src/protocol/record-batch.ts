// Owns the v2 record batch header: validation of produced batches, baseOffset patching, timestamp lookup.
/*
 * RecordBatch (magic 2), all big-endian:
 *   baseOffset INT64 | batchLength INT32 | partitionLeaderEpoch INT32 | magic INT8 | crc UINT32
 *   | attributes INT16 | lastOffsetDelta INT32 | firstTimestamp INT64 | maxTimestamp INT64
 *   | producerId INT64 | producerEpoch INT16 | baseSequence INT32 | recordsCount INT32 | records...
 * batchLength counts the bytes after itself; the CRC-32C covers attributes to the end, so the broker
 * can rewrite baseOffset (and the leader epoch) without recomputing it. attributes & 7 is the codec.
 * Record: length VARINT | attributes INT8 | timestampDelta VARLONG | offsetDelta VARINT | key | value | headers
 */
import { gunzipSync } from 'node:zlib';
import { decompress as decompressCodec } from './compression.js';
import { crc32c } from './crc32c.js';
import { ErrorCode } from './errors.js';
import type { ErrorCodeValue } from './errors.js';

export const BATCH_HEADER_BYTES = 61;
const LENGTH_OFFSET = 8;
const MAGIC_OFFSET = 16;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;
const LAST_OFFSET_DELTA_OFFSET = 23;
const FIRST_TIMESTAMP_OFFSET = 27;
const MAX_TIMESTAMP_OFFSET = 35;
const RECORDS_COUNT_OFFSET = 57;
const TWO_32 = 4294967296;

export const Codec = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;

/** One batch found in a RECORDS blob: a slice of it plus the header fields the log indexes on. */
export interface BatchInfo {
  buf: Buffer;
  lastOffsetDelta: number;
  maxTimestamp: number;
}

function readInt64(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}

/**
 * Splits a produced RECORDS blob into batches and validates each (magic, length, codec, CRC).
 * Returns an error code instead of throwing so one bad partition fails alone, as in Kafka.
 */
export function splitBatches(records: Buffer, verifyCrc = true): BatchInfo[] | ErrorCodeValue {
  const out: BatchInfo[] = [];
  let at = 0;
  while (at < records.length) {
    if (records.length - at < BATCH_HEADER_BYTES) return ErrorCode.CORRUPT_MESSAGE;
    const size = records.readInt32BE(at + LENGTH_OFFSET) + 12;
    if (size < BATCH_HEADER_BYTES || at + size > records.length) return ErrorCode.CORRUPT_MESSAGE;
    // Magic 0/1 message sets come only from pre-0.11 clients; kafkajs >= 1.x writes magic 2.
    if (records.readInt8(at + MAGIC_OFFSET) !== 2) return ErrorCode.UNSUPPORTED_VERSION;
    const codec = records.readInt16BE(at + ATTRIBUTES_OFFSET) & 7;
    if (codec > Codec.LZ4) return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE;
    if (
      verifyCrc &&
      crc32c(records, at + ATTRIBUTES_OFFSET, at + size) !== records.readUInt32BE(at + CRC_OFFSET)
    ) {
      return ErrorCode.CORRUPT_MESSAGE;
    }
    const lastOffsetDelta = records.readInt32BE(at + LAST_OFFSET_DELTA_OFFSET);
    if (lastOffsetDelta < 0) return ErrorCode.CORRUPT_MESSAGE;
    out.push({
      buf: records.subarray(at, at + size),
      lastOffsetDelta,
      maxTimestamp: readInt64(records, at + MAX_TIMESTAMP_OFFSET),
    });
    at += size;
  }
  return out.length === 0 ? ErrorCode.CORRUPT_MESSAGE : out;
}

/** Rewrites baseOffset in place (not covered by the CRC). */
export function setBaseOffset(batch: Buffer, baseOffset: number): void {
  const hi = Math.floor(baseOffset / TWO_32);
  batch.writeInt32BE(hi, 0);
  batch.writeUInt32BE(baseOffset - hi * TWO_32, 4);
}

export function batchBaseOffset(batch: Buffer): number {
  return readInt64(batch, 0);
}

export function batchLastOffsetDelta(batch: Buffer): number {
  return batch.readInt32BE(LAST_OFFSET_DELTA_OFFSET);
}

export function batchMaxTimestamp(batch: Buffer): number {
  return readInt64(batch, MAX_TIMESTAMP_OFFSET);
}

function readVarint(buf: Buffer, pos: { at: number }): number {
  // Zig-zag varint up to 64 bits; kept in float arithmetic because deltas can exceed 2^31.
  let result = 0;
  let mult = 1;
  for (;;) {
    const b = buf[pos.at++];
    if (b === undefined) throw new RangeError('varint past end of batch');
    result += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) break;
    mult *= 128;
  }
  return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
}

/**
 * First record in the batch whose timestamp is >= ts, as [offset, timestamp], or null. Used only by
 * ListOffsets by timestamp, so decoding (and decompressing) one batch here is fine.
 */
export function findTimestampInBatch(batch: Buffer, ts: number): [number, number] | null {
  const base = readInt64(batch, 0);
  const firstTs = readInt64(batch, FIRST_TIMESTAMP_OFFSET);
  const count = batch.readInt32BE(RECORDS_COUNT_OFFSET);
  const codec = batch.readInt16BE(ATTRIBUTES_OFFSET) & 7;
  let records = batch.subarray(BATCH_HEADER_BYTES);
  if (codec === Codec.GZIP) records = gunzipSync(records);
  else if (codec !== Codec.NONE) records = decompressCodec(codec, records);
  const pos = { at: 0 };
  for (let i = 0; i < count && pos.at < records.length; i++) {
    const len = readVarint(records, pos);
    const start = pos.at;
    pos.at += 1; // record attributes
    const tsDelta = readVarint(records, pos);
    const offsetDelta = readVarint(records, pos);
    if (firstTs + tsDelta >= ts) return [base + offsetDelta, firstTs + tsDelta];
    pos.at = start + len;
  }
  return null;
}
