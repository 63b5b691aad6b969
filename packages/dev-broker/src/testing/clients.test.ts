// A missing client in the client matrix fails under CI naming it, and is skipped loudly (never silently) elsewhere.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TestContext } from 'vitest';
import { requireClient } from './clients.js';

const missing = { ok: false as const, missing: 'kcat (apt-get install kcat)' };

function fakeContext(): { ctx: TestContext; skipped: () => boolean } {
  let skipped = false;
  const ctx = {
    task: { name: 'some client test' },
    skip: () => {
      skipped = true;
    },
  } as unknown as TestContext;
  return { ctx, skipped: () => skipped };
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('requireClient', () => {
  it('under CI throws, naming the missing client', () => {
    vi.stubEnv('CI', '1');
    const { ctx, skipped } = fakeContext();
    expect(() => requireClient(missing, ctx)).toThrow('client-matrix test needs kcat (apt-get install kcat)');
    expect(skipped()).toBe(false);
  });

  it('outside CI skips with a loud stderr line naming the test and the client', () => {
    vi.stubEnv('CI', '');
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const { ctx, skipped } = fakeContext();
    requireClient(missing, ctx);
    expect(skipped()).toBe(true);
    expect(String(write.mock.calls[0]?.[0])).toMatch(
      /!!! SKIPPED client-matrix test "some client test": kcat/,
    );
  });

  it('lets a present client through', () => {
    const { ctx, skipped } = fakeContext();
    requireClient({ ok: true, bin: '/usr/bin/kcat' }, ctx);
    expect(skipped()).toBe(false);
  });
});
