// Owns committed consumer-group offsets: in memory, plus an append-only journal when a data dir is set.
/*
 * Journal: <dataDir>/offsets.jsonl, one JSON object per line, {"g":group,"t":topic,"p":partition,
 * "o":offset,"m":metadata}; replayed on start, last write wins. It is rewritten as a snapshot (temp
 * file + rename) when it holds far more lines than live entries, and when a topic is deleted.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface CommittedOffset {
  offset: number;
  metadata: string | null;
}

interface JournalLine {
  g: string;
  t: string;
  p: number;
  o: number;
  m: string | null;
}

export interface OffsetStoreOptions {
  dataDir: string | null;
  fsyncIntervalMs: number;
}

export class OffsetStore {
  /** group -> topic -> partition -> offset */
  private readonly groups = new Map<string, Map<string, Map<number, CommittedOffset>>>();
  private fd: number | null = null;
  private file: string | null = null;
  private lines = 0;
  private live = 0;
  private dirty = false;
  private syncTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: OffsetStoreOptions) {
    if (!opts.dataDir) return;
    fs.mkdirSync(opts.dataDir, { recursive: true });
    this.file = path.join(opts.dataDir, 'offsets.jsonl');
    if (fs.existsSync(this.file)) {
      for (const line of fs.readFileSync(this.file, 'utf8').split('\n')) {
        if (!line) continue;
        try {
          const e = JSON.parse(line) as JournalLine;
          this.put(e.g, e.t, e.p, { offset: e.o, metadata: e.m });
          this.lines++;
        } catch {
          // A torn last line from a crash: everything before it is intact.
        }
      }
    }
    this.fd = fs.openSync(this.file, 'a');
  }

  private put(group: string, topic: string, partition: number, value: CommittedOffset): void {
    let topics = this.groups.get(group);
    if (!topics) this.groups.set(group, (topics = new Map()));
    let parts = topics.get(topic);
    if (!parts) topics.set(topic, (parts = new Map()));
    if (!parts.has(partition)) this.live++;
    parts.set(partition, value);
  }

  /** Records many commits with one journal write. */
  commit(
    group: string,
    entries: ReadonlyArray<{ topic: string; partition: number; offset: number; metadata: string | null }>,
  ): void {
    let text = '';
    for (const e of entries) {
      this.put(group, e.topic, e.partition, { offset: e.offset, metadata: e.metadata });
      if (this.fd !== null)
        text += JSON.stringify({ g: group, t: e.topic, p: e.partition, o: e.offset, m: e.metadata }) + '\n';
    }
    if (this.fd === null || text === '') return;
    fs.writeSync(this.fd, text);
    this.lines += entries.length;
    this.dirty = true;
    if (this.lines > 10_000 && this.lines > this.live * 4) this.compact();
    else this.scheduleSync();
  }

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.groups.get(group)?.get(topic)?.get(partition);
  }

  /** Every committed offset of a group, by topic. */
  all(group: string): ReadonlyMap<string, ReadonlyMap<number, CommittedOffset>> {
    return this.groups.get(group) ?? new Map();
  }

  groupIds(): IterableIterator<string> {
    return this.groups.keys();
  }

  deleteTopic(topic: string): void {
    let removed = false;
    for (const topics of this.groups.values()) {
      const parts = topics.get(topic);
      if (parts) {
        this.live -= parts.size;
        topics.delete(topic);
        removed = true;
      }
    }
    if (removed) this.compact();
  }

  /** DeleteGroups: forgets every offset of the group. */
  deleteGroup(group: string): void {
    const topics = this.groups.get(group);
    if (!topics) return;
    for (const parts of topics.values()) this.live -= parts.size;
    this.groups.delete(group);
    this.compact();
  }

  /** OffsetDelete: forgets the group's offsets of these partitions. */
  deletePartitions(group: string, topic: string, partitions: readonly number[]): void {
    const topics = this.groups.get(group);
    const parts = topics?.get(topic);
    if (!topics || !parts) return;
    for (const p of partitions) if (parts.delete(p)) this.live--;
    if (parts.size === 0) topics.delete(topic);
    if (topics.size === 0) this.groups.delete(group);
    this.compact();
  }

  private compact(): void {
    if (this.fd === null || this.file === null) return;
    let text = '';
    for (const [g, topics] of this.groups) {
      for (const [t, parts] of topics) {
        for (const [p, v] of parts) text += JSON.stringify({ g, t, p, o: v.offset, m: v.metadata }) + '\n';
      }
    }
    fs.writeFileSync(this.file + '.tmp', text);
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    fs.renameSync(this.file + '.tmp', this.file);
    this.fd = fs.openSync(this.file, 'a');
    this.lines = this.live;
    this.dirty = false;
  }

  private scheduleSync(): void {
    if (this.opts.fsyncIntervalMs <= 0) return this.sync();
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      // In the thread pool, off the event loop (see PartitionDir.syncInBackground).
      if (this.fd === null || !this.dirty) return;
      const fd = this.fd;
      this.dirty = false;
      fs.fsync(fd, (err) => {
        if (err && this.fd === fd) this.dirty = true;
      });
    }, this.opts.fsyncIntervalMs);
    this.syncTimer.unref();
  }

  sync(): void {
    if (this.fd !== null && this.dirty) {
      fs.fsyncSync(this.fd);
      this.dirty = false;
    }
  }

  close(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    this.sync();
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
