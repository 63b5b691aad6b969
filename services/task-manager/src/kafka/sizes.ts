// Message sizes against Kafka's limits: what a record costs on the wire and how kafkajs says "too large".

/** 900 KiB: under Kafka's default message.max.bytes (1 MiB), with room for batch and record overhead. */
export const DEFAULT_MAX_MESSAGE_BYTES = 900 * 1024;

/** Record and batch framing that a message adds to its key and value (a generous bound). */
const RECORD_OVERHEAD = 128;

/** Bytes one message takes in a produce request: its key and value as UTF-8 plus framing. */
export function messageBytes(key: string | Buffer | null, value: string | Buffer | null): number {
  const size = (v: string | Buffer | null): number =>
    v === null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;
  return size(key) + size(value) + RECORD_OVERHEAD;
}

const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/**
 * The kafkajs error type when `err` (or an error it wraps: kafkajs puts the protocol error in
 * `cause`, and several brokers' errors in `errors`) says a message or record batch is too large;
 * null otherwise.
 */
export function isTooLargeError(err: unknown): string | null {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const { type, cause, errors } = e as { type?: unknown; cause?: unknown; errors?: unknown };
    if (typeof type === 'string' && TOO_LARGE.has(type)) return type;
    queue.push(cause);
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return null;
}
