// Owns decompression of snappy and lz4 record batch payloads (pure JS; only ListOffsets by timestamp needs it).
/*
 * Batches are stored and served compressed as produced; the broker decompresses only to find a
 * timestamp inside one batch. Payload formats, as Kafka reads them:
 *   snappy: xerial framing (Java clients, kafkajs-snappy): magic 82 'SNAPPY' 00, INT32 version,
 *           INT32 compatible version, then blocks of INT32 length + raw snappy; or one raw snappy
 *           block (librdkafka, which xerial's SnappyInputStream also accepts).
 *   lz4:    the LZ4 frame format (KafkaLZ4BlockOutputStream, librdkafka, kafkajs-lz4).
 */
import { createRequire } from 'node:module';
import { ProtocolError } from './errors.js';

/** Untyped CommonJS packages: the one function each that is used here, typed at the boundary. */
type Decompressor = (input: Uint8Array) => Uint8Array;
const require = createRequire(import.meta.url);
const snappyUncompress = (require('snappyjs') as { uncompress: Decompressor }).uncompress;
const lz4Decompress = (require('lz4js') as { decompress: Decompressor }).decompress;

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
const SNAPPY = 2;
const LZ4 = 3;

function unsnappy(buf: Buffer): Buffer {
  if (buf.length < XERIAL_HEADER_BYTES || !buf.subarray(0, 8).equals(XERIAL_MAGIC)) {
    return Buffer.from(snappyUncompress(buf));
  }
  const blocks: Buffer[] = [];
  let at = XERIAL_HEADER_BYTES;
  while (at < buf.length) {
    if (at + 4 > buf.length) throw new ProtocolError('truncated xerial snappy block');
    const len = buf.readInt32BE(at);
    at += 4;
    if (len < 0 || at + len > buf.length) throw new ProtocolError('truncated xerial snappy block');
    blocks.push(Buffer.from(snappyUncompress(buf.subarray(at, at + len))));
    at += len;
  }
  return Buffer.concat(blocks);
}

/** Decompresses a batch payload with codec 2 (snappy) or 3 (lz4). */
export function decompress(codec: number, buf: Buffer): Buffer {
  if (codec === SNAPPY) return unsnappy(buf);
  if (codec === LZ4) return Buffer.from(lz4Decompress(buf));
  throw new ProtocolError(`unsupported compression codec ${codec}`);
}
