// Per-partition commit bookkeeping: the highest offset below which every task has its result out.

/**
 * Tracks the dispatch messages of one assigned partition. Messages start in offset order (kafkajs
 * delivers a partition in order) but finish in any order; the commit position is the lowest offset
 * still in flight, or one past the highest started when none is. Offsets the log skips (compaction,
 * transaction markers) need no special case: only delivered offsets are ever in flight.
 *
 * A tracker belongs to one assignment of its partition: once revoked it ignores everything, so a
 * task finishing after a rebalance never commits for the partition's new owner.
 */
export class OffsetTracker {
  /** Started offsets in start (= offset) order; `head` is the first not yet known to be finished. */
  private started: number[] = [];
  private head = 0;
  private readonly inFlight = new Set<number>();
  private highest = -1;
  private committed: number | undefined;
  private revokedFlag = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  get revoked(): boolean {
    return this.revokedFlag;
  }

  /** Tasks started and not finished. */
  get pending(): number {
    return this.inFlight.size;
  }

  /**
   * False for an offset this tracker has already seen: kafkajs re-fetches from the committed offset
   * after a rebalance that left the partition with us, and those tasks are running or done.
   */
  accepts(offset: number): boolean {
    return !this.revokedFlag && offset > this.highest;
  }

  /** Records that the task at `offset` has started. Offsets must increase. */
  start(offset: number): void {
    if (offset <= this.highest) {
      throw new Error(`offset ${offset} of ${this.topic}/${this.partition} started after ${this.highest}`);
    }
    this.highest = offset;
    this.started.push(offset);
    this.inFlight.add(offset);
  }

  /**
   * Records that the task at `offset` has published its terminal result (or went to the DLQ).
   * Returns true when the commit position moved.
   */
  finish(offset: number): boolean {
    if (this.revokedFlag || !this.inFlight.delete(offset)) return false;
    const before = this.head;
    while (this.head < this.started.length && !this.inFlight.has(this.started[this.head]!)) this.head++;
    const moved = this.head !== before;
    // Drop the finished prefix now and then, so the array does not grow for the partition's lifetime.
    if (this.head > 1024 && this.head * 2 > this.started.length) {
      this.started = this.started.slice(this.head);
      this.head = 0;
    }
    return moved;
  }

  /** The offset to commit (Kafka's "next offset to read"), or undefined before any message. */
  position(): number | undefined {
    if (this.highest < 0) return undefined;
    return this.head < this.started.length ? this.started[this.head] : this.highest + 1;
  }

  /** The position when it differs from the last committed one, else undefined. */
  uncommitted(): number | undefined {
    if (this.revokedFlag) return undefined;
    const position = this.position();
    return position === this.committed ? undefined : position;
  }

  markCommitted(position: number): void {
    if (this.committed === undefined || position > this.committed) this.committed = position;
  }

  /** The partition went to another member (or we stopped): forget everything. */
  revoke(): void {
    this.revokedFlag = true;
    this.started = [];
    this.head = 0;
    this.inFlight.clear();
  }
}
