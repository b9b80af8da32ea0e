/**
 * The RoomStore contract (src/signaling/rooms.ts) as a reusable suite: any store (the in-memory one today, a shared
 * one later) must pass it. `make` gets the local delivery function the server would pass and returns a fresh store.
 */
import { describe, expect, it } from 'vitest';
import type { LocalDelivery, RoomStore } from '../../src/signaling/rooms.js';

export function roomStoreContract(name: string, make: (deliverLocal: LocalDelivery) => Promise<RoomStore> | RoomStore): void {
  describe(`RoomStore contract: ${name}`, () => {
    const delivered: [string, string][] = [];
    const local: LocalDelivery = (peer, text) => {
      delivered.push([peer, text]);
      return true;
    };

    it('join creates the room, lists earlier members oldest first, and enforces the capacity', async () => {
      const s = await make(local);
      expect(await s.join('r', 'a', 3)).toEqual({ ok: true, peers: [] });
      expect(await s.join('r', 'b', 3)).toEqual({ ok: true, peers: ['a'] });
      expect(await s.join('r', 'c', 3)).toEqual({ ok: true, peers: ['a', 'b'] });
      expect(await s.join('r', 'd', 3)).toEqual({ ok: false, reason: 'full' });
      expect(await s.members('r')).toEqual(['a', 'b', 'c']);
      expect(await s.members('nope')).toEqual([]);
      await s.close();
    });

    it('of joins racing for the last place, exactly one gets it', async () => {
      const s = await make(local);
      await s.join('race', 'first', 2);
      const results = await Promise.all(['x', 'y', 'z'].map((p) => s.join('race', p, 2)));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(await s.members('race')).toHaveLength(2);
      await s.close();
    });

    it('leave returns the remaining members (undefined for a non-member); an empty room is forgotten', async () => {
      const s = await make(local);
      await s.join('r', 'a', 2);
      await s.join('r', 'b', 2);
      await s.join('q', 'a', 2);
      expect(await s.counts()).toEqual({ rooms: 2, peers: 3 });
      expect(await s.leave('r', 'zz')).toBeUndefined();
      expect(await s.leave('r', 'a')).toEqual(['b']);
      expect(await s.leave('r', 'a')).toBeUndefined();
      expect(await s.leave('r', 'b')).toEqual([]);
      expect(await s.counts()).toEqual({ rooms: 1, peers: 1 });
      expect(await s.members('r')).toEqual([]);
      // Forgotten, so the capacity is whole again and nobody stale is listed.
      expect(await s.join('r', 'c', 1)).toEqual({ ok: true, peers: [] });
      expect(await s.join('r', 'd', 1)).toEqual({ ok: false, reason: 'full' });
      await s.close();
    });

    it('deliver hands each text to each peer, in call order', async () => {
      const s = await make(local);
      delivered.length = 0;
      expect(await s.deliver('r', ['a', 'b'], 'one')).toEqual([]);
      expect(await s.deliver('r', ['b'], 'two')).toEqual([]);
      expect(delivered).toEqual([
        ['a', 'one'],
        ['b', 'one'],
        ['b', 'two'],
      ]);
      await s.close();
    });
  });
}
