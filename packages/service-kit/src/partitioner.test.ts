import { randomBytes, randomUUID } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import type { PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KeyPartitioner } from './partitioner.js';

const metadata = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));

describe('KeyPartitioner', () => {
  it("picks the partition kafkajs' DefaultPartitioner picks for every key", () => {
    const ours = KeyPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    const keys: (string | Buffer)[] = [
      '',
      'a',
      'ab',
      'abc',
      'abcd',
      'tâche-é-日本-🙂',
      'x'.repeat(85),
      'x'.repeat(86),
      'é'.repeat(200),
      randomBytes(37),
    ];
    for (let i = 0; i < 500; i++) keys.push(randomUUID(), randomBytes(i % 70).toString('hex'));
    for (const partitions of [1, 3, 7, 64]) {
      const partitionMetadata = metadata(partitions);
      for (const key of keys) {
        const args = { topic: 'results', partitionMetadata, message: { key, value: null } };
        expect(ours(args), `key ${String(key)}`).toBe(theirs(args));
      }
    }
  });

  it('keeps an explicit partition, and spreads messages without a key over the partitions', () => {
    const ours = KeyPartitioner();
    const partitionMetadata = metadata(3);
    expect(ours({ topic: 't', partitionMetadata, message: { key: 'k', value: null, partition: 2 } })).toBe(2);
    const seen = new Set<number>();
    for (let i = 0; i < 6; i++)
      seen.add(ours({ topic: 't', partitionMetadata, message: { key: null, value: null } }));
    expect([...seen].sort()).toEqual([0, 1, 2]);
  });
});
