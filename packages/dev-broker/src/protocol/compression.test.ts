// Snappy (raw and xerial-framed, as Java clients write it) and LZ4 frames decompress to the original payload.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { decompress } from './compression.js';

type Codec = (input: Uint8Array) => Uint8Array;
const require = createRequire(import.meta.url);
const snappyCompress = (require('snappyjs') as { compress: Codec }).compress;
const lz4Compress = (require('lz4js') as { compress: Codec }).compress;

const payload = Buffer.from('record '.repeat(500));

describe('batch payload decompression', () => {
  it('reads raw snappy (librdkafka) and xerial-framed snappy in several blocks (Java, kafkajs-snappy)', () => {
    expect(decompress(2, Buffer.from(snappyCompress(payload)))).toEqual(payload);
    const header = Buffer.from('82534e41505059000000000100000001', 'hex');
    const blocks = [payload.subarray(0, 1000), payload.subarray(1000)].map((part) => {
      const c = Buffer.from(snappyCompress(part));
      const len = Buffer.alloc(4);
      len.writeInt32BE(c.length);
      return Buffer.concat([len, c]);
    });
    expect(decompress(2, Buffer.concat([header, ...blocks]))).toEqual(payload);
    expect(() => decompress(2, Buffer.concat([header, Buffer.from('000000ff', 'hex')]))).toThrow(/truncated/);
  });

  it('reads the LZ4 frame format', () => {
    expect(decompress(3, Buffer.from(lz4Compress(payload)))).toEqual(payload);
  });
});
