// Store contract: leases — one holder at a time among replicas sharing the database.
import { describe, expect, it } from 'vitest';
import type { MakeStore } from './harness.js';
import { useStore } from './harness.js';
import { at, newId } from './fixtures.js';

export function leasesContract(makeStore: MakeStore): void {
  describe('leases', () => {
    const store = useStore(makeStore);
    const ttl = 5_000;

    it('a free lease is taken, and another owner cannot take it until it expires', async () => {
      const lease = `relay-${newId()}`;
      expect(await store().acquireLease(lease, 'a', at(0), ttl)).toBe(true);
      expect(await store().acquireLease(lease, 'b', at(1_000), ttl)).toBe(false);
      // Expiry is exclusive: at exactly now + ttl the holder still has it.
      expect(await store().acquireLease(lease, 'b', at(ttl), ttl)).toBe(false);
      expect(await store().acquireLease(lease, 'b', at(ttl + 1), ttl)).toBe(true);
      expect(await store().acquireLease(lease, 'a', at(ttl + 2), ttl)).toBe(false);
    });

    it('the holder renews its lease, which pushes the expiry forward', async () => {
      const lease = `relay-${newId()}`;
      expect(await store().acquireLease(lease, 'a', at(0), ttl)).toBe(true);
      expect(await store().acquireLease(lease, 'a', at(4_000), ttl)).toBe(true);
      // Past the first expiry but within the renewed one: still a's.
      expect(await store().acquireLease(lease, 'b', at(8_000), ttl)).toBe(false);
      // Renewing to the same expiry still counts as held.
      expect(await store().acquireLease(lease, 'a', at(4_000), ttl)).toBe(true);
      expect(await store().acquireLease(lease, 'a', at(8_500), ttl)).toBe(true);
    });

    it('leases with different names are independent', async () => {
      const one = `relay-${newId()}`;
      const two = `relay-${newId()}`;
      expect(await store().acquireLease(one, 'a', at(0), ttl)).toBe(true);
      expect(await store().acquireLease(two, 'b', at(0), ttl)).toBe(true);
      expect(await store().acquireLease(two, 'a', at(0), ttl)).toBe(false);
    });

    it('a released lease can be taken by another owner at once; release by a non-holder changes nothing', async () => {
      const lease = `relay-${newId()}`;
      expect(await store().acquireLease(lease, 'a', at(0), ttl)).toBe(true);
      await store().releaseLease(lease, 'b');
      expect(await store().acquireLease(lease, 'b', at(1), ttl)).toBe(false);
      await store().releaseLease(lease, 'a');
      await store().releaseLease(lease, 'a');
      expect(await store().acquireLease(lease, 'b', at(2), ttl)).toBe(true);
      expect(await store().acquireLease(lease, 'a', at(3), ttl)).toBe(false);
    });

    it('of many owners racing for a free lease, exactly one gets it', async () => {
      const lease = `relay-${newId()}`;
      const owners = Array.from({ length: 8 }, (_, i) => `owner-${i}`);
      const got = await Promise.all(owners.map((o) => store().acquireLease(lease, o, at(0), ttl)));
      expect(got.filter(Boolean)).toHaveLength(1);
    });
  });
}
