// The in-memory RoomStore against the RoomStore contract (room-store-contract.ts), which a shared store must pass too;
// and the server with a store of its own (the `roomStore` option), including a store that removes a peer by itself.
import { describe, expect, it } from 'vitest';
import { MemoryRoomStore, StoreUnavailableError, type RoomStoreHost } from '../../src/signaling/rooms.js';
import { roomStoreContract } from './room-store-contract.js';
import { signalingHarness } from './raw.js';

roomStoreContract('MemoryRoomStore', (deliver) => new MemoryRoomStore(deliver));

/** A store that can drop a member on its own, as a shared store does when another instance's presence expires. */
class EvictingStore extends MemoryRoomStore {
  joins = 0;
  constructor(private readonly host: RoomStoreHost) {
    super(host.deliverLocal);
  }
  override join(room: string, peer: string, capacity: number): ReturnType<MemoryRoomStore['join']> {
    this.joins++;
    return super.join(room, peer, capacity);
  }
  async evict(room: string, peer: string): Promise<void> {
    const remaining = await this.leave(room, peer);
    if (remaining) this.host.peerGone(room, peer, remaining);
  }
}

describe('the roomStore option', () => {
  const { server, joined } = signalingHarness();

  it('the server keeps its rooms in the given store, and a peer the store drops on its own is announced (peer-left)', async () => {
    let store: EvictingStore | undefined;
    const s = await server({
      roomStore: (host) => {
        store = new EvictingStore(host);
        return store;
      },
    });
    const a = await joined(s, 'shared');
    const b = await joined(s, 'shared');
    await a.raw.next('peer-joined');
    expect(store!.joins).toBe(2);
    await store!.evict('shared', b.id);
    expect(await a.raw.next('peer-left')).toEqual({ type: 'peer-left', room: 'shared', id: b.id });
    expect(await s.stats()).toMatchObject({ rooms: 1, peersInRooms: 1 });
  });
});

describe('MemoryRoomStore beyond the contract', () => {
  const quiet = (): boolean => true;

  it('a peer joining a room it is already in stays one member and is not listed among its own peers', async () => {
    const s = new MemoryRoomStore(quiet);
    await s.join('r', 'a', 2);
    await s.join('r', 'b', 2);
    // The room is full, but a member asking again is not a newcomer: it gets the others, and nothing is counted twice.
    expect(await s.join('r', 'b', 2)).toEqual({ ok: true, peers: ['a'] });
    expect(await s.members('r')).toEqual(['a', 'b']);
    expect(await s.counts()).toEqual({ rooms: 1, peers: 2 });
  });

  it('leave from a room that never existed is undefined, not an exception', async () => {
    const s = new MemoryRoomStore(quiet);
    expect(await s.leave('never', 'a')).toBeUndefined();
    expect(await s.counts()).toEqual({ rooms: 0, peers: 0 });
  });

  it('close forgets every room and membership', async () => {
    const s = new MemoryRoomStore(quiet);
    await s.join('r', 'a', 2);
    await s.join('q', 'b', 2);
    await s.close();
    expect(await s.counts()).toEqual({ rooms: 0, peers: 0 });
    expect(await s.members('r')).toEqual([]);
  });
});

describe('MemoryRoomStore health and delivery details', () => {
  it('is always healthy, delivers locally (remote: false) and reports nobody undeliverable', async () => {
    const got: unknown[][] = [];
    const s = new MemoryRoomStore((peer, text, sentAt, remote) => {
      got.push([peer, text, sentAt, remote]);
      return true;
    });
    expect(s.health()).toEqual({ kind: 'memory', state: 'ok' });
    expect(await s.deliver('r', ['a'], 'hi', 123)).toEqual([]);
    expect(got).toEqual([['a', 'hi', 123, false]]);
    const e = new StoreUnavailableError('down', { cause: 'x' });
    expect([e.name, e.message, e.cause]).toEqual(['StoreUnavailableError', 'down', 'x']);
  });
});
