// Kafka's key partitioner: kafkajs' DefaultPartitioner (Java's murmur2 of the key), without its allocations.
import { Partitioners } from 'kafkajs';
import type { ICustomPartitioner } from 'kafkajs';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
/** Keys up to this many UTF-8 bytes are hashed from one reused buffer (task ids are ~36). */
const scratch = Buffer.allocUnsafe(256);

/** Kafka's murmur2 (Utils.murmur2 of the Java client) in 32-bit integer arithmetic. */
export function murmur2(data: Buffer, length = data.length): number {
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= data[tail + 2]! << 16;
    if (rest >= 2) h ^= data[tail + 1]! << 8;
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

function hashKey(key: string | Buffer): number {
  if (typeof key !== 'string') return murmur2(key);
  // At most 3 UTF-8 bytes per UTF-16 unit: a key that may not fit the scratch buffer gets its own.
  if (key.length * 3 > scratch.length) return murmur2(Buffer.from(key));
  return murmur2(scratch, scratch.write(key));
}

/** The partition of `partitions` that a keyed message goes to, as kafkajs' DefaultPartitioner picks it. */
export function partitionForKey(key: string | Buffer, partitions: number): number {
  return (hashKey(key) & 0x7fffffff) % partitions;
}

/**
 * kafkajs' DefaultPartitioner picks the same partitions, but computes murmur2 with a 64-bit Long
 * object per step and filters the partition list per message: a few KB of garbage per message.
 * Keyed messages are hashed here in plain 32-bit arithmetic (a test holds the two equal); an
 * explicit partition or a message without a key goes to kafkajs' own.
 */
export const KeyPartitioner: ICustomPartitioner = () => {
  const fallback = Partitioners.DefaultPartitioner();
  return (args) => {
    const { key, partition } = args.message;
    if (partition !== undefined && partition !== null) return partition;
    if (key === undefined || key === null) return fallback(args);
    return partitionForKey(key, args.partitionMetadata.length);
  };
};
