// Owns encoding of Kafka's primitive wire types into a response frame (size + correlation id + body).

const TWO_32 = 4294967296;
/** Buffers at least this large are queued by reference instead of copied (record batches). */
const ZERO_COPY_MIN = 1024;

/**
 * Growable big-endian writer for one response. The first 8 bytes are reserved for the frame size
 * and the correlation id, so a finished response is written to the socket without another copy;
 * large record batches are kept as separate chunks (see raw()).
 */
export class Writer {
  private buf: Buffer;
  private pos = 8;
  private readonly chunks: Buffer[] = [];
  private chunkedBytes = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(initial, 16));
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int8(v: number): this {
    this.ensure(1);
    this.pos = this.buf.writeInt8(v, this.pos);
    return this;
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  int16(v: number): this {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
    return this;
  }

  int64(v: number): this {
    this.ensure(8);
    const hi = Math.floor(v / TWO_32);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(v - hi * TWO_32, this.pos + 4);
    this.pos += 8;
    return this;
  }

  nullableString(s: string | null): this {
    if (s === null) return this.int16(-1);
    const len = Buffer.byteLength(s);
    this.int16(len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }

  string(s: string): this {
    return this.nullableString(s);
  }

  nullableBytes(b: Buffer | null): this {
    if (b === null) return this.int32(-1);
    this.int32(b.length);
    return this.raw(b);
  }

  bytes(b: Buffer): this {
    return this.nullableBytes(b);
  }

  arrayLength(n: number): this {
    return this.int32(n);
  }

  array<T>(items: readonly T[], item: (w: Writer, v: T) => void): this {
    this.int32(items.length);
    for (const v of items) item(this, v);
    return this;
  }

  /** UNSIGNED_VARINT (flexible versions). */
  uvarint(v: number): this {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  compactNullableString(s: string | null): this {
    if (s === null) return this.uvarint(0);
    const len = Buffer.byteLength(s);
    this.uvarint(len + 1);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }

  compactString(s: string): this {
    return this.compactNullableString(s);
  }

  compactArray<T>(items: readonly T[], item: (w: Writer, v: T) => void): this {
    this.uvarint(items.length + 1);
    for (const v of items) item(this, v);
    return this;
  }

  /** An empty TAGGED_FIELDS section: the broker sets no tagged fields. */
  noTags(): this {
    return this.int8(0);
  }

  /** Appends bytes; big ones become their own chunk so record batches are never copied. */
  raw(b: Buffer): this {
    if (b.length >= ZERO_COPY_MIN) {
      this.chunks.push(this.buf.subarray(0, this.pos));
      this.chunkedBytes += this.pos;
      this.chunks.push(b);
      this.chunkedBytes += b.length;
      // The flushed prefix stays referenced by chunks; continue in a fresh buffer.
      this.buf = Buffer.allocUnsafe(256);
      this.pos = 0;
      return this;
    }
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Patches size and correlation id into the frame and returns its chunks in order. */
  finish(correlationId: number): Buffer[] {
    const tail = this.buf.subarray(0, this.pos);
    const parts = this.chunks.length === 0 ? [tail] : [...this.chunks, tail];
    const total = this.chunkedBytes + this.pos;
    const head = parts[0] as Buffer;
    head.writeInt32BE(total - 4, 0);
    head.writeInt32BE(correlationId, 4);
    return parts;
  }

  /** The body bytes only (after the 8-byte header), concatenated: for codec tests. */
  body(): Buffer {
    return Buffer.concat(this.finish(0)).subarray(8);
  }
}
