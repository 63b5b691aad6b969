// Unit tests of PartitionLog: offsets, reads from mid-batch, and retention by size and age.
import { describe, expect, it } from 'vitest';
import { BATCH_HEADER_BYTES, batchBaseOffset } from '../protocol/record-batch.js';
import type { BatchInfo } from '../protocol/record-batch.js';
import { PartitionLog } from './partition-log.js';

function fakeBatch(records: number, size = 100): BatchInfo {
  const buf = Buffer.alloc(Math.max(size, BATCH_HEADER_BYTES));
  buf.writeInt32BE(buf.length - 12, 8);
  return { buf, lastOffsetDelta: records - 1, maxTimestamp: Date.now() };
}

describe('PartitionLog', () => {
  it('assigns consecutive offsets and reads from the batch holding an offset', () => {
    const log = new PartitionLog(
      't',
      0,
      { segmentBytes: 1 << 20, retentionBytes: -1, retentionMs: -1 },
      null,
    );
    log.open();
    expect(log.append([fakeBatch(3)])).toBe(0);
    expect(log.append([fakeBatch(2), fakeBatch(5)])).toBe(3);
    expect(log.nextOffset).toBe(10);
    const out: Buffer[] = [];
    log.read(4, 1 << 20, out);
    expect(out.map(batchBaseOffset)).toEqual([3, 5]);
    out.length = 0;
    log.read(0, 1, out); // max bytes smaller than one batch: still one whole batch
    expect(out.map(batchBaseOffset)).toEqual([0]);
    expect(log.available(10, 1)).toBe(0);
    expect(log.available(9, 1)).toBeGreaterThan(0);
  });

  it('drops whole old segments beyond the size limit, never the active one', () => {
    const log = new PartitionLog('t', 0, { segmentBytes: 1000, retentionBytes: 2000, retentionMs: -1 }, null);
    log.open();
    for (let i = 0; i < 100; i++) log.append([fakeBatch(1, 100)]);
    log.enforceRetention();
    expect(log.size).toBeLessThanOrEqual(3000);
    expect(log.startOffset).toBeGreaterThan(0);
    expect(log.nextOffset).toBe(100);
    const out: Buffer[] = [];
    log.read(0, 1 << 20, out); // below the start: read begins at the first retained batch
    expect(batchBaseOffset(out[0] as Buffer)).toBe(log.startOffset);
  });

  it('drops segments older than the age limit', () => {
    const log = new PartitionLog('t', 0, { segmentBytes: 500, retentionBytes: -1, retentionMs: 1000 }, null);
    log.open();
    for (let i = 0; i < 20; i++) log.append([fakeBatch(1, 100)]);
    log.enforceRetention(Date.now() + 5000);
    expect(log.startOffset).toBeGreaterThanOrEqual(15);
  });
});
