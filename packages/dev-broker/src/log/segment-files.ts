// Owns one partition's directory on disk: append-only segment files named by base offset, and recovery.
/*
 * Layout: <dataDir>/logs/<topic>-<partition>/<20-digit base offset>.log, each file the raw v2 record
 * batches back to back, exactly as they go over the wire (and as Kafka stores them). Writes go to
 * the page cache with writeSync (ordered, no callbacks on the hot path); fsync is the caller's
 * policy. Recovery keeps the longest valid prefix of each file and truncates a torn tail.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32c } from '../protocol/crc32c.js';
import { BATCH_HEADER_BYTES } from '../protocol/record-batch.js';

const SUFFIX = '.log';

export interface LoadedSegment {
  base: number;
  /** Valid batches, back to back. */
  data: Buffer;
  mtimeMs: number;
}

function fileName(base: number): string {
  return String(base).padStart(20, '0') + SUFFIX;
}

/** Length of the longest prefix of buf made of whole, CRC-valid v2 batches. */
function validPrefix(buf: Buffer): number {
  let at = 0;
  while (buf.length - at >= BATCH_HEADER_BYTES) {
    const size = buf.readInt32BE(at + 8) + 12;
    if (size < BATCH_HEADER_BYTES || at + size > buf.length || buf.readInt8(at + 16) !== 2) break;
    if (crc32c(buf, at + 21, at + size) !== buf.readUInt32BE(at + 17)) break;
    at += size;
  }
  return at;
}

export class PartitionDir {
  private fd: number | null = null;
  private dirty = false;

  constructor(readonly dir: string) {}

  /** Reads every segment, truncating torn tails; creates the directory when missing. */
  load(): LoadedSegment[] {
    fs.mkdirSync(this.dir, { recursive: true });
    const names = fs
      .readdirSync(this.dir)
      .filter((n) => n.endsWith(SUFFIX) && /^\d+$/.test(n.slice(0, -SUFFIX.length)))
      .sort();
    return names.map((name) => {
      const file = path.join(this.dir, name);
      const raw = fs.readFileSync(file);
      const valid = validPrefix(raw);
      if (valid < raw.length) fs.truncateSync(file, valid);
      return {
        base: Number(name.slice(0, -SUFFIX.length)),
        data: raw.subarray(0, valid),
        mtimeMs: fs.statSync(file).mtimeMs,
      };
    });
  }

  /** Opens (creating if needed) the segment starting at base as the one appends go to. */
  openActive(base: number): void {
    this.closeActive();
    this.fd = fs.openSync(path.join(this.dir, fileName(base)), 'a');
  }

  append(buf: Buffer): void {
    if (this.fd === null) throw new Error(`no active segment in ${this.dir}`);
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
    this.dirty = true;
  }

  /** fsyncs the active segment if anything was written since the last sync. */
  sync(): void {
    if (this.fd !== null && this.dirty) {
      fs.fsyncSync(this.fd);
      this.dirty = false;
    }
  }

  /**
   * The same in the thread pool: the interval fsync of a busy disk can take tens of ms, which on the
   * event loop would hold up every produce and fetch of every client. A segment closed meanwhile
   * was synced by closeActive; an fsync failing on its stale descriptor is then harmless.
   */
  syncInBackground(): void {
    if (this.fd === null || !this.dirty) return;
    const fd = this.fd;
    this.dirty = false;
    fs.fsync(fd, (err) => {
      if (err && this.fd === fd) this.dirty = true;
    });
  }

  removeSegment(base: number): void {
    fs.rmSync(path.join(this.dir, fileName(base)), { force: true });
  }

  closeActive(): void {
    if (this.fd === null) return;
    this.sync();
    fs.closeSync(this.fd);
    this.fd = null;
  }

  destroy(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
