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

/**
 * Hands a serialised server message to a peer connected to this process; false if no such peer is here. `sentAt`
 * (wallNow() when the first instance received the relay) feeds the relay latency histogram; `remote`: it came from
 * another instance.
 */
export type LocalDelivery = (peer: string, text: string, sentAt?: number, remote?: boolean) => boolean;

/** What the server gives a store it creates (SignalingServerOptions.roomStore). */
export interface RoomStoreHost {
  deliverLocal: LocalDelivery;
  /**
   * For a shared store: it removed `peer` from `room` on its own (e.g. the instance holding that peer stopped
   * refreshing its presence). The server then tells `remaining` (peer-left), as for any other leave.
   */
  peerGone(room: string, peer: string, remaining: readonly string[]): void;
  /**
   * For a shared store: these peers, connected here, lost their memberships without being told (this instance was
   * declared dead by the others while it was cut off from the store). The server closes their connections so they
   * reconnect and join again, which tells everyone the truth.
   */
  resetPeers(peers: readonly string[]): void;
  /** For a shared store: it lost or regained the store (logged as a `store` event). */
  stateChanged(state: StoreHealth['state'], message: string): void;
}

/** How the store is doing, for /healthz and /metrics. */
export interface StoreHealth {
  kind: 'memory' | 'redis';
  /** `degraded`: the shared store is unreachable; local rooms keep working, joins and cross-instance relays fail. */
  state: 'ok' | 'degraded';
  /** Redis: this instance's id, the last round-trip time, reconnect attempts since the last loss. */
  instance?: string;
  rttMs?: number;
  reconnects?: number;
}

/**
 * Thrown by a store that cannot do what was asked right now (a shared store it cannot reach). The server answers the
 * client `server-busy` (try again later); nothing was changed.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
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
  /**
   * Hand `text` to each of `peers` (members of `room`), wherever it is connected, in the order of calls for any one
   * peer. Resolves with the peers it could not hand the text to (a shared store that cannot reach their instance), so
   * the sender can be told: never a silent loss.
   */
  deliver(room: string, peers: readonly string[], text: string, sentAt?: number): Promise<readonly string[]>;
  /** Rooms and memberships: for a shared store, over all instances (this instance's own view if it cannot ask). */
  counts(): Promise<RoomCounts>;
  health(): StoreHealth;
  close(): Promise<void>;
}

const NONE: readonly string[] = Object.freeze([]);

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

  deliver(_room: string, peers: readonly string[], text: string, sentAt?: number): Promise<readonly string[]> {
    // A peer that is not connected here any more is leaving (its disconnect is queued): as before, nothing to report.
    for (const p of peers) this.local(p, text, sentAt, false);
    return Promise.resolve(NONE);
  }

  health(): StoreHealth {
    return { kind: 'memory', state: 'ok' };
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
