/**
 * Where rooms live, behind one small interface. `MemoryRoomStore` keeps them in this process (the default, and all
 * that one `serve` needs). A shared store (e.g. Redis, for several `serve` instances) implements the same calls: every
 * call is async because there it is a network round trip, `join` must enforce the capacity atomically across
 * instances, and `deliver` must reach a peer wherever it is connected.
 *
 * The store only stores and delivers. Who may join, who gets a relay, who hears `peer-left`: those decisions are made
 * in one place, src/signaling/hub.ts, for every store alike.
 */

export type JoinOutcome =
  /** Joined; `peers` were already there, oldest first. */
  | { ok: true; peers: string[] }
  /** The room already holds `capacity` members. */
  | { ok: false; reason: 'full' };

export interface RoomCounts {
  /** Rooms with at least one member. */
  rooms: number;
  /** Memberships over all rooms. */
  peers: number;
}

/** Hands a serialised server message to a peer connected to this process; false if no such peer is here. */
export type LocalDelivery = (peer: string, text: string) => boolean;

/** What the server gives a store it creates (SignalingServerOptions.roomStore). */
export interface RoomStoreHost {
  deliverLocal: LocalDelivery;
  /**
   * For a shared store: it removed `peer` from `room` on its own (e.g. the instance holding that peer stopped
   * refreshing its presence). The server then tells `remaining` (peer-left), as for any other leave.
   */
  peerGone(room: string, peer: string, remaining: readonly string[]): void;
}

export interface RoomStore {
  /**
   * Add `peer` to `room` unless the room holds `capacity` members; atomic (of two joins racing for the last place,
   * exactly one gets it). Creates the room on first join. From the moment this resolves, `peer` may get deliveries.
   */
  join(room: string, peer: string, capacity: number): Promise<JoinOutcome>;
  /** Remove `peer` from `room`. Resolves with the members still in it, or undefined if `peer` was not a member. An
   * empty room is forgotten. */
  leave(room: string, peer: string): Promise<string[] | undefined>;
  /** The members of `room`, oldest first (empty if there is no such room). Read-only: callers never change it. */
  members(room: string): Promise<readonly string[]>;
  /** Hand `text` to each of `peers`, wherever it is connected, in the order of calls for any one peer. */
  deliver(peers: readonly string[], text: string): Promise<void>;
  counts(): Promise<RoomCounts>;
  close(): Promise<void>;
}

/**
 * Rooms in this process's memory: each room is its member list in join order. `members` hands out that list itself
 * (read-only, replaced rather than changed on join/leave), so the relay path copies nothing.
 */
export class MemoryRoomStore implements RoomStore {
  private readonly rooms = new Map<string, readonly string[]>();
  private memberships = 0;

  constructor(private readonly local: LocalDelivery) {}

  join(room: string, peer: string, capacity: number): Promise<JoinOutcome> {
    const members = this.rooms.get(room) ?? [];
    if (members.includes(peer)) return Promise.resolve({ ok: true, peers: members.filter((p) => p !== peer) });
    if (members.length >= capacity) return Promise.resolve({ ok: false, reason: 'full' });
    this.rooms.set(room, [...members, peer]);
    this.memberships++;
    return Promise.resolve({ ok: true, peers: [...members] });
  }

  leave(room: string, peer: string): Promise<string[] | undefined> {
    const members = this.rooms.get(room);
    if (!members?.includes(peer)) return Promise.resolve(undefined);
    const remaining = members.filter((p) => p !== peer);
    this.memberships--;
    if (remaining.length === 0) this.rooms.delete(room);
    else this.rooms.set(room, remaining);
    return Promise.resolve([...remaining]);
  }

  members(room: string): Promise<readonly string[]> {
    return Promise.resolve(this.rooms.get(room) ?? []);
  }

  deliver(peers: readonly string[], text: string): Promise<void> {
    for (const p of peers) this.local(p, text);
    return Promise.resolve();
  }

  counts(): Promise<RoomCounts> {
    return Promise.resolve({ rooms: this.rooms.size, peers: this.memberships });
  }

  close(): Promise<void> {
    this.rooms.clear();
    this.memberships = 0;
    return Promise.resolve();
  }
}
