// Owns the set of topics: creation, deletion, topic metadata on disk, periodic fsync and retention.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { PartitionLog } from './partition-log.js';
import type { RetentionLimits } from './partition-log.js';
import { PartitionDir } from './segment-files.js';

export interface TopicConfig {
  retentionMs?: number;
  retentionBytes?: number;
}

export interface Topic {
  name: string;
  partitions: PartitionLog[];
  config: TopicConfig;
}

export interface LogManagerOptions {
  dataDir: string | null;
  limits: RetentionLimits;
  /** fsync dirty segments this long after the first unsynced write; 0 = after every append. */
  fsyncIntervalMs: number;
  retentionCheckMs: number;
  logger: Logger;
}

const LEGAL_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

export function isLegalTopicName(name: string): boolean {
  return LEGAL_TOPIC.test(name) && name !== '.' && name !== '..';
}

/**
 * Topics live in memory; with a data dir, <dataDir>/topics.json records names, partition counts and
 * configs (rewritten atomically on change) and each partition has its own segment directory.
 */
export class LogManager {
  readonly topics = new Map<string, Topic>();
  private syncTimer: NodeJS.Timeout | null = null;
  private readonly retentionTimer: NodeJS.Timeout;

  constructor(private readonly opts: LogManagerOptions) {
    if (opts.dataDir) this.load(opts.dataDir);
    // Age-based retention needs a clock even when nothing is produced; once a minute is plenty.
    this.retentionTimer = setInterval(() => this.enforceRetention(), opts.retentionCheckMs);
    this.retentionTimer.unref();
  }

  private load(dataDir: string): void {
    fs.mkdirSync(path.join(dataDir, 'logs'), { recursive: true });
    const file = path.join(dataDir, 'topics.json');
    if (!fs.existsSync(file)) return;
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<
      string,
      { partitions: number; config: TopicConfig }
    >;
    for (const [name, t] of Object.entries(saved)) this.open(name, t.partitions, t.config);
    // Directories of topics deleted just before a crash are garbage now.
    for (const dir of fs.readdirSync(path.join(dataDir, 'logs'))) {
      const cut = dir.lastIndexOf('-');
      const topic = this.topics.get(dir.slice(0, cut));
      if (!topic || Number(dir.slice(cut + 1)) >= topic.partitions.length) {
        fs.rmSync(path.join(dataDir, 'logs', dir), { recursive: true, force: true });
      }
    }
    this.opts.logger.info({ topics: this.topics.size, dataDir }, 'loaded topics from data dir');
  }

  private open(name: string, count: number, config: TopicConfig): Topic {
    const topic = { name, partitions: this.openPartitions(name, config, 0, count), config };
    this.topics.set(name, topic);
    return topic;
  }

  private openPartitions(name: string, config: TopicConfig, from: number, to: number): PartitionLog[] {
    const limits: RetentionLimits = {
      segmentBytes: this.opts.limits.segmentBytes,
      retentionBytes: config.retentionBytes ?? this.opts.limits.retentionBytes,
      retentionMs: config.retentionMs ?? this.opts.limits.retentionMs,
    };
    const partitions: PartitionLog[] = [];
    for (let p = from; p < to; p++) {
      const dir = this.opts.dataDir
        ? new PartitionDir(path.join(this.opts.dataDir, 'logs', `${name}-${p}`))
        : null;
      const log = new PartitionLog(name, p, limits, dir);
      log.open();
      partitions.push(log);
    }
    return partitions;
  }

  private saveTopics(): void {
    if (!this.opts.dataDir) return;
    const out: Record<string, { partitions: number; config: TopicConfig }> = {};
    for (const t of this.topics.values()) out[t.name] = { partitions: t.partitions.length, config: t.config };
    const file = path.join(this.opts.dataDir, 'topics.json');
    fs.writeFileSync(file + '.tmp', JSON.stringify(out));
    fs.renameSync(file + '.tmp', file);
  }

  get(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.topics.get(topic)?.partitions[partition];
  }

  create(name: string, partitions: number, config: TopicConfig = {}): Topic {
    const topic = this.open(name, partitions, config);
    this.saveTopics();
    this.opts.logger.debug({ topic: name, partitions }, 'topic created');
    return topic;
  }

  /** CreatePartitions: opens partitions old..count-1 of an existing topic and saves the new count. */
  addPartitions(name: string, count: number): void {
    const topic = this.topics.get(name);
    if (!topic) return;
    topic.partitions.push(...this.openPartitions(name, topic.config, topic.partitions.length, count));
    this.saveTopics();
    this.opts.logger.debug({ topic: name, partitions: count }, 'partitions added');
  }

  delete(name: string): boolean {
    const topic = this.topics.get(name);
    if (!topic) return false;
    this.topics.delete(name);
    this.saveTopics();
    for (const p of topic.partitions) p.destroy();
    this.opts.logger.debug({ topic: name }, 'topic deleted');
    return true;
  }

  /** Called after appends: schedules the next fsync (no timer at all while idle). */
  markDirty(): void {
    if (!this.opts.dataDir) return;
    if (this.opts.fsyncIntervalMs <= 0) return this.sync();
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      for (const t of this.topics.values()) for (const p of t.partitions) p.syncInBackground();
    }, this.opts.fsyncIntervalMs);
    this.syncTimer.unref();
  }

  sync(): void {
    for (const t of this.topics.values()) for (const p of t.partitions) p.sync();
  }

  enforceRetention(): void {
    const now = Date.now();
    for (const t of this.topics.values()) for (const p of t.partitions) p.enforceRetention(now);
  }

  close(): void {
    clearInterval(this.retentionTimer);
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    for (const t of this.topics.values()) for (const p of t.partitions) p.close();
  }
}
