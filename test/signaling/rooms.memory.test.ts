// The in-memory RoomStore against the RoomStore contract (room-store-contract.ts), which a shared store must pass too;
// and the server with a store of its own (the `roomStore` option), including a store that removes a peer by itself.
import { describe, expect, it } from 'vitest';
import { MemoryRoomStore, type RoomStoreHost } from '../../src/signaling/rooms.js';
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
