// Owns one partition: offset assignment, the in-memory batch index, segments, retention and fetch wake-ups.
import type { BatchInfo } from '../protocol/record-batch.js';
import { batchBaseOffset, batchLastOffsetDelta, setBaseOffset } from '../protocol/record-batch.js';
import type { PartitionDir } from './segment-files.js';

/** A stored batch: its offsets and its bytes (baseOffset already patched). */
export interface StoredBatch {
  base: number;
  last: number;
  buf: Buffer;
}

interface Segment {
  base: number;
  bytes: number;
  batches: number;
  lastAppendMs: number;
}

export interface RetentionLimits {
  segmentBytes: number;
  /** Per partition; -1 = unlimited. */
  retentionBytes: number;
  /** By append time; -1 = unlimited. */
  retentionMs: number;
}

/**
 * All retained batches stay in memory (bounded by retention), so a fetch is a binary search plus
 * Buffer references: no disk reads and no re-encoding on the hot path. With a data dir every append
 * is also written to the active segment file.
 */
export class PartitionLog {
  private batches: StoredBatch[] = [];
  /** Index of the first live entry in batches; dropped entries are compacted away lazily. */
  private head = 0;
  private segments: Segment[] = [];
  private totalBytes = 0;
  nextOffset = 0;
  /** Log start set by DeleteRecords (Kafka's logStartOffset may point into a batch); 0 when never set. */
  private deletedBelow = 0;
  /** Fetches parked on this partition; each is called once per append and removes itself when done. */
  readonly waiters = new Set<() => void>();

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly limits: RetentionLimits,
    private readonly dir: PartitionDir | null,
  ) {}

  /** Rebuilds state from disk (or starts empty) and opens the active segment. */
  open(): void {
    if (this.dir) {
      for (const seg of this.dir.load()) {
        const s: Segment = { base: seg.base, bytes: seg.data.length, batches: 0, lastAppendMs: seg.mtimeMs };
        this.nextOffset = Math.max(this.nextOffset, seg.base);
        let at = 0;
        while (at < seg.data.length) {
          const size = seg.data.readInt32BE(at + 8) + 12;
          const buf = seg.data.subarray(at, at + size);
          const base = batchBaseOffset(buf);
          const last = base + batchLastOffsetDelta(buf);
          this.batches.push({ base, last, buf });
          this.nextOffset = last + 1;
          s.batches++;
          at += size;
        }
        this.totalBytes += s.bytes;
        this.segments.push(s);
      }
    }
    if (this.segments.length === 0) this.roll();
    else this.dir?.openActive((this.segments[this.segments.length - 1] as Segment).base);
  }

  get startOffset(): number {
    const first = this.batches[this.head]?.base ?? this.nextOffset;
    return first > this.deletedBelow ? first : this.deletedBelow;
  }

  /**
   * DeleteRecords: moves the log start to offset (-1: the high watermark) and returns the new low
   * watermark, or -1 when offset is beyond the log end. Stored batches stay until retention drops
   * their segment; fetches below the new start get OFFSET_OUT_OF_RANGE like any other.
   */
  deleteRecordsBefore(offset: number): number {
    const target = offset === -1 ? this.nextOffset : offset;
    if (target < 0 || target > this.nextOffset) return -1;
    if (target > this.deletedBelow) this.deletedBelow = target;
    return this.startOffset;
  }

  get size(): number {
    return this.totalBytes;
  }

  private roll(): void {
    this.segments.push({ base: this.nextOffset, bytes: 0, batches: 0, lastAppendMs: Date.now() });
    this.dir?.openActive(this.nextOffset);
  }

  /** Assigns offsets to validated batches, stores them and wakes parked fetches. Returns the first offset. */
  append(batches: readonly BatchInfo[]): number {
    const first = this.nextOffset;
    const now = Date.now();
    for (const info of batches) {
      let active = this.segments[this.segments.length - 1] as Segment;
      if (active.bytes >= this.limits.segmentBytes) {
        this.roll();
        this.enforceRetention(now);
        active = this.segments[this.segments.length - 1] as Segment;
      }
      // A slice of a much larger socket buffer would pin all of it for the batch's lifetime: copy those.
      const buf = info.buf.buffer.byteLength > info.buf.length * 2 + 4096 ? Buffer.from(info.buf) : info.buf;
      const base = this.nextOffset;
      setBaseOffset(buf, base);
      const last = base + info.lastOffsetDelta;
      this.batches.push({ base, last, buf });
      this.nextOffset = last + 1;
      this.dir?.append(buf);
      active.bytes += buf.length;
      active.batches++;
      active.lastAppendMs = now;
      this.totalBytes += buf.length;
    }
    for (const wake of this.waiters) wake();
    return first;
  }

  /**
   * Batches from the one containing offset, until maxBytes is reached; the first batch is always
   * returned whole even when larger (as Kafka does since KIP-74) so a consumer can never stall.
   * Returns the number of bytes pushed onto out.
   */
  read(offset: number, maxBytes: number, out: Buffer[]): number {
    const list = this.batches;
    let lo = this.head;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((list[mid] as StoredBatch).last < offset) lo = mid + 1;
      else hi = mid;
    }
    let bytes = 0;
    for (let i = lo; i < list.length; i++) {
      const b = list[i] as StoredBatch;
      if (bytes > 0 && bytes + b.buf.length > maxBytes) break;
      out.push(b.buf);
      bytes += b.buf.length;
      if (bytes >= maxBytes) break;
    }
    return bytes;
  }

  /** Bytes available from offset, counting at most up to limit: cheap check for fetch min_bytes. */
  available(offset: number, limit: number): number {
    if (offset >= this.nextOffset) return 0;
    let bytes = 0;
    for (let i = this.batches.length - 1; i >= this.head && bytes < limit; i--) {
      const b = this.batches[i] as StoredBatch;
      if (b.last < offset) break;
      bytes += b.buf.length;
    }
    return bytes;
  }

  /** Iterates stored batches from the oldest (for ListOffsets by timestamp). */
  *scan(): IterableIterator<StoredBatch> {
    for (let i = this.head; i < this.batches.length; i++) yield this.batches[i] as StoredBatch;
  }

  /** Drops whole old segments (never the active one) beyond the size or age limit. */
  enforceRetention(now = Date.now()): void {
    const { retentionBytes, retentionMs } = this.limits;
    while (this.segments.length > 1) {
      const oldest = this.segments[0] as Segment;
      const tooBig = retentionBytes >= 0 && this.totalBytes - oldest.bytes >= retentionBytes;
      const tooOld = retentionMs >= 0 && now - oldest.lastAppendMs > retentionMs;
      if (!tooBig && !tooOld) break;
      this.segments.shift();
      this.head += oldest.batches;
      this.totalBytes -= oldest.bytes;
      this.dir?.removeSegment(oldest.base);
    }
    if (this.head > 1024 && this.head * 2 > this.batches.length) {
      this.batches = this.batches.slice(this.head);
      this.head = 0;
    }
  }

  sync(): void {
    this.dir?.sync();
  }

  syncInBackground(): void {
    this.dir?.syncInBackground();
  }

  close(): void {
    this.dir?.closeActive();
    for (const wake of this.waiters) wake();
  }

  destroy(): void {
    this.dir?.destroy();
    for (const wake of this.waiters) wake();
  }
}
