// cutDeadLetter and messageBytes with headers: the cut-down copy of a dead letter too large for the DLQ.
import { describe, expect, it } from 'vitest';
import { DLQ_HEADERS, cutDeadLetter, messageBytes } from './messages.js';

const dlqHeaders = {
  [DLQ_HEADERS.reason]: 'not JSON',
  [DLQ_HEADERS.topic]: 'dispatch',
  [DLQ_HEADERS.partition]: '3',
  [DLQ_HEADERS.offset]: '42',
};

describe('messageBytes', () => {
  it('counts header names and values, and every value of a repeated header', () => {
    const bare = messageBytes('k', 'v');
    expect(messageBytes('k', 'v', {})).toBe(bare);
    const one = messageBytes('k', 'v', { name: 'value' });
    expect(one).toBeGreaterThanOrEqual(bare + 'name'.length + 'value'.length);
    expect(messageBytes('k', 'v', { name: ['value', Buffer.from('value')] }) - bare).toBe(2 * (one - bare));
    expect(messageBytes('k', 'v', { gone: undefined })).toBe(bare);
  });
});

describe('cutDeadLetter', () => {
  it('keeps the key, the DLQ headers and the first bytes that fit, marked truncated with the original size', () => {
    const value = Buffer.from('x'.repeat(5_000));
    const cut = cutDeadLetter({ key: 'k', value, headers: dlqHeaders }, 1_000)!;
    expect(cut.key).toBe('k');
    expect(cut.headers).toEqual({
      ...dlqHeaders,
      [DLQ_HEADERS.truncated]: 'true',
      [DLQ_HEADERS.originalBytes]: '5000',
    });
    expect(messageBytes(cut.key, cut.value, cut.headers)).toBe(1_000);
    expect(value.subarray(0, (cut.value as Buffer).length).equals(cut.value as Buffer)).toBe(true);
  });

  it('cuts between UTF-8 characters', () => {
    const text = 'é'.repeat(1_000);
    for (let max = 400; max < 410; max++) {
      const cut = cutDeadLetter({ key: null, value: text, headers: dlqHeaders }, max)!;
      const kept = (cut.value as Buffer).toString('utf8');
      expect(text.startsWith(kept)).toBe(true);
      expect(messageBytes(null, cut.value, cut.headers)).toBeLessThanOrEqual(max);
    }
  });

  it("drops the original's own headers when they leave no room for the value", () => {
    const headers = { ...dlqHeaders, big: 'h'.repeat(2_000), small: 's' };
    const cut = cutDeadLetter({ key: 'k', value: 'x'.repeat(5_000), headers }, 1_000)!;
    expect(Object.keys(cut.headers)).not.toContain('big');
    expect((cut.value as Buffer).length).toBeGreaterThan(500);
    const roomy = cutDeadLetter({ key: 'k', value: 'x'.repeat(5_000), headers }, 4_000)!;
    expect(roomy.headers).toMatchObject({ big: 'h'.repeat(2_000), small: 's' });
  });

  it('is null when not even the key and the DLQ headers fit', () => {
    expect(cutDeadLetter({ key: 'k'.repeat(1_000), value: 'v', headers: dlqHeaders }, 1_000)).toBeNull();
  });
});
