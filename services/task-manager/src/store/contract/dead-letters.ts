// Store contract: dead letters — idempotent inserts on (topic, partition, offset), newest-first paging and filters, replays.
import { describe, expect, it } from 'vitest';
import type { DeadLetterRecord } from '../types.js';
import type { MakeStore } from './harness.js';
import { useStore } from './harness.js';
import { T0, at } from './fixtures.js';

function letter(topic: string, offset: number, overrides: Partial<DeadLetterRecord> = {}): DeadLetterRecord {
  return {
    topic,
    partition: 0,
    offset,
    time: at(offset),
    indexedAt: T0,
    reason: `reason ${offset}`,
    sourceTopic: topic.replace(/\.dlq$/, ''),
    sourcePartition: 0,
    sourceOffset: offset,
    key: `k${offset}`,
    headers: { 'x-dlq-reason': `reason ${offset}` },
    value: `{"n":${offset}}`,
    valueBytes: 8,
    truncated: false,
    ...overrides,
  };
}

export function deadLettersContract(makeStore: MakeStore): void {
  describe('dead letters', () => {
    const store = useStore(makeStore, 'each');

    it('a dead letter stored twice is one row; the count says how many were new', async () => {
      expect(await store().insertDeadLetters([letter('a.dlq', 0), letter('a.dlq', 1)])).toBe(2);
      expect(await store().insertDeadLetters([letter('a.dlq', 1), letter('a.dlq', 2)])).toBe(1);
      expect(await store().insertDeadLetters([letter('a.dlq', 0, { partition: 1 })])).toBe(1);
      expect(await store().listDeadLetters({ limit: 10 })).toHaveLength(4);
      const got = await store().getDeadLetter('a.dlq', 0, 2);
      expect(got).toMatchObject({ ...letter('a.dlq', 2), id: expect.any(Number) });
      expect(await store().getDeadLetter('a.dlq', 0, 99)).toBeNull();
    });

    it('lists newest first, pages by id, filters by topic, source topic and a literal reason substring', async () => {
      await store().insertDeadLetters([letter('a.dlq', 0), letter('b.dlq', 1, { reason: '100% _odd_' })]);
      await store().insertDeadLetters([letter('a.dlq', 2), letter('a.dlq', 3, { reason: null })]);
      const all = await store().listDeadLetters({ limit: 10 });
      expect(all.map((r) => r.offset)).toEqual([3, 2, 1, 0]);
      const first = await store().listDeadLetters({ limit: 2 });
      const rest = await store().listDeadLetters({ limit: 2, beforeId: first[1]!.id! });
      expect([...first, ...rest].map((r) => r.offset)).toEqual([3, 2, 1, 0]);
      expect((await store().listDeadLetters({ limit: 10, topic: 'b.dlq' })).map((r) => r.offset)).toEqual([
        1,
      ]);
      expect((await store().listDeadLetters({ limit: 10, sourceTopic: 'a' })).map((r) => r.offset)).toEqual([
        3, 2, 0,
      ]);
      // % and _ are literal text, not wildcards.
      expect((await store().listDeadLetters({ limit: 10, reason: '% _' })).map((r) => r.offset)).toEqual([1]);
      expect(await store().listDeadLetters({ limit: 10, reason: 'reason _' })).toEqual([]);
    });

    it('replays are listed per dead letter, oldest first', async () => {
      await store().insertDeadLetters([letter('a.dlq', 0), letter('a.dlq', 1)]);
      const [l1, l0] = await store().listDeadLetters({ limit: 10 });
      await store().insertDlqReplays([
        { deadLetterId: l0!.id!, at: at(1), by: 'ops', targetTopic: 'a', edited: true },
        { deadLetterId: l0!.id!, at: at(2), by: null, targetTopic: 'a', edited: false },
      ]);
      const replays = await store().listDlqReplays([l0!.id!, l1!.id!]);
      expect(replays.map((r) => [r.deadLetterId, r.at, r.by, r.edited])).toEqual([
        [l0!.id, at(1), 'ops', true],
        [l0!.id, at(2), null, false],
      ]);
      expect(await store().listDlqReplays([])).toEqual([]);
    });
  });
}
