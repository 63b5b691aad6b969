// Unit: which failures count as a database outage (retry, never dead-letter) and which as poison.
import { describe, expect, it } from 'vitest';
import { StoreUnavailable } from '../store/types.js';
import { looksTransient } from './poison.js';

describe('looksTransient', () => {
  it('the store saying it is unavailable, or a connection error anywhere in the cause chain, is transient', () => {
    expect(looksTransient(new StoreUnavailable('deadlock', 'deadlock persisted'))).toBe(true);
    const driver = Object.assign(new Error('connect failed'), { code: 'ECONNREFUSED' });
    expect(looksTransient(new Error('unit of work failed', { cause: driver }))).toBe(true);
    expect(looksTransient(Object.assign(new Error('x'), { code: 'SQLITE_BUSY' }))).toBe(true);
    expect(looksTransient(new Error('Connection lost: The server closed the connection.'))).toBe(true);
  });

  it('an error about the message itself is not transient', () => {
    expect(looksTransient(new Error('CHECK constraint failed: tasks'))).toBe(false);
    expect(looksTransient(Object.assign(new Error('Data too long'), { code: 'ER_DATA_TOO_LONG' }))).toBe(
      false,
    );
    expect(looksTransient(new RangeError('Invalid time value'))).toBe(false);
  });
});
