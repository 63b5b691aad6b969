// Owns decoding of Kafka's primitive wire types from a request frame (bounds-checked, never throws past a frame).
import { ProtocolError } from './errors.js';

const TWO_32 = 4294967296;

/**
 * Sequential big-endian reader over one request body. Every read is bounds-checked and throws
 * ProtocolError, which the server turns into a closed connection: garbage never reaches a handler.
 */
export class Reader {
  offset: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    readonly end = buf.length,
  ) {
    this.offset = offset;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number): number {
    const at = this.offset;
    if (at + n > this.end)
      throw new ProtocolError(`truncated: need ${n} bytes at ${at}, have ${this.end - at}`);
    this.offset = at + n;
    return at;
  }

  int8(): number {
    return this.buf.readInt8(this.need(1));
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    return this.buf.readInt16BE(this.need(2));
  }

  int32(): number {
    return this.buf.readInt32BE(this.need(4));
  }

  /** INT64 as a JS number: offsets and timestamps stay far below 2^53. */
  int64(): number {
    const at = this.need(8);
    return this.buf.readInt32BE(at) * TWO_32 + this.buf.readUInt32BE(at + 4);
  }

  nullableString(): string | null {
    const len = this.int16();
    if (len === -1) return null;
    if (len < 0) throw new ProtocolError(`invalid string length ${len}`);
    const at = this.need(len);
    return this.buf.toString('utf8', at, at + len);
  }

  string(): string {
    const s = this.nullableString();
    if (s === null) throw new ProtocolError('null in a non-nullable STRING');
    return s;
  }

  /** BYTES / RECORDS: a zero-copy slice of the frame, or null for length -1. */
  nullableBytes(): Buffer | null {
    const len = this.int32();
    if (len === -1) return null;
    if (len < 0) throw new ProtocolError(`invalid bytes length ${len}`);
    const at = this.need(len);
    return this.buf.subarray(at, at + len);
  }

  bytes(): Buffer {
    return this.nullableBytes() ?? Buffer.alloc(0);
  }

  /** ARRAY with length -1 meaning null. A length larger than the bytes left is rejected up front. */
  nullableArray<T>(item: (r: Reader) => T): T[] | null {
    const len = this.int32();
    if (len === -1) return null;
    if (len < 0 || len > this.remaining()) throw new ProtocolError(`invalid array length ${len}`);
    const out: T[] = new Array<T>(len);
    for (let i = 0; i < len; i++) out[i] = item(this);
    return out;
  }

  array<T>(item: (r: Reader) => T): T[] {
    return this.nullableArray(item) ?? [];
  }

  /** UNSIGNED_VARINT (flexible versions): lengths and tag counts, at most 5 bytes. */
  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.buf.readUInt8(this.need(1));
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    throw new ProtocolError('unsigned varint longer than 5 bytes');
  }

  /** COMPACT_NULLABLE_STRING: uvarint length + 1 (0 = null). */
  compactNullableString(): string | null {
    const len = this.uvarint() - 1;
    if (len === -1) return null;
    const at = this.need(len);
    return this.buf.toString('utf8', at, at + len);
  }

  compactString(): string {
    const s = this.compactNullableString();
    if (s === null) throw new ProtocolError('null in a non-nullable COMPACT_STRING');
    return s;
  }

  /** COMPACT_ARRAY: uvarint length + 1 (0 = null). */
  compactNullableArray<T>(item: (r: Reader) => T): T[] | null {
    const len = this.uvarint() - 1;
    if (len === -1) return null;
    if (len > this.remaining()) throw new ProtocolError(`invalid array length ${len}`);
    const out: T[] = new Array<T>(len);
    for (let i = 0; i < len; i++) out[i] = item(this);
    return out;
  }

  compactArray<T>(item: (r: Reader) => T): T[] {
    return this.compactNullableArray(item) ?? [];
  }

  /** TAGGED_FIELDS: none is understood here, so every tag is skipped by its size. */
  skipTaggedFields(): void {
    const n = this.uvarint();
    for (let i = 0; i < n; i++) {
      this.uvarint(); // tag
      this.need(this.uvarint());
    }
  }
}
