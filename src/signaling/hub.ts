/**
 * The signaling decisions, in one place for every room store: who may join (token, rooms per connection, capacity),
 * who receives a relay (everyone else in the room, or the one `to` if it is a member; never across rooms), and who
 * hears `peer-joined` / `peer-left`. Rooms themselves live in a RoomStore (rooms.ts); the wire format is protocol.ts.
 */
import { CLOSE_THROTTLED, CLOSE_UNAUTHORIZED, SIGNALING_PROTOCOL_VERSION, encodeServerMessage, type ClientMessage } from './protocol.js';
import { StoreUnavailableError, type RoomStore } from './rooms.js';
import type { TokenGate } from './auth.js';
import type { Connection, ConnectionHost } from './connection.js';

export class Hub {
  constructor(
    private readonly store: RoomStore,
    private readonly gate: TokenGate,
    private readonly host: ConnectionHost,
  ) {}

  /** `receivedAt`: wallNow() when the message arrived (relay latency is measured from there). */
  handle(conn: Connection, msg: ClientMessage, receivedAt: number): Promise<void> {
    switch (msg.type) {
      case 'join':
        return this.join(conn, msg.room, msg.token);
      case 'relay':
        return this.relay(conn, msg.data, msg.to, msg.room, receivedAt);
      case 'leave':
        return this.leave(conn, msg.room);
      case 'ping':
        conn.send('{"type":"pong"}');
        return Promise.resolve();
    }
  }

  /** The connection is gone: leave every room it was in (its room-mates get peer-left). */
  async disconnect(conn: Connection): Promise<void> {
    for (const room of [...conn.rooms]) await this.removeFromRoom(conn, room, 'disconnect');
  }

  /** The store removed a peer on its own (a shared store's expired presence): its room-mates get peer-left. */
  async peerGone(room: string, peer: string, remaining: readonly string[]): Promise<void> {
    await this.store.deliver(room, remaining, encodeServerMessage({ type: 'peer-left', room, id: peer }));
    this.host.report({ event: 'leave', id: peer, room, reason: 'disconnect' });
  }

  /** Whether this join may go ahead as far as the token is concerned; refuses (and closes) itself otherwise. */
  private authorise(conn: Connection, room: string, token: string | undefined): boolean {
    if (conn.authed && token === undefined) return true;
    const v = this.gate.check(conn.addressKey, token);
    if (v.ok) {
      conn.authed = true;
      return true;
    }
    if (v.reason === 'throttled') {
      this.host.report({ event: 'throttled', id: conn.id, address: conn.address, retryAfterMs: v.retryAfterMs });
      conn.sendError('throttled', `too many wrong tokens from this address; try again in ${Math.ceil(v.retryAfterMs / 1000)} s`, 'join', room);
      conn.close(CLOSE_THROTTLED, 'too many wrong tokens');
      return false;
    }
    conn.sendError('unauthorized', token === undefined ? 'this server requires a token' : 'wrong token', 'join', room);
    conn.close(CLOSE_UNAUTHORIZED, 'unauthorized');
    return false;
  }

  private async join(conn: Connection, room: string, token: string | undefined): Promise<void> {
    if (!this.authorise(conn, room, token)) return;
    if (this.host.draining) {
      conn.sendError('server-busy', 'this server instance is shutting down; reconnect (to another instance) and join there', 'join', room);
      return;
    }
    if (conn.rooms.has(room)) {
      conn.sendError('already-joined', `already in room "${room}"`, 'join', room);
      return;
    }
    const maxRooms = this.host.config.maxRoomsPerConnection;
    if (conn.rooms.size >= maxRooms) {
      conn.sendError('too-many-rooms', `a connection may be in at most ${maxRooms} room(s); leave one first`, 'join', room);
      return;
    }
    const size = this.host.config.roomSize;
    let outcome: Awaited<ReturnType<RoomStore['join']>>;
    try {
      outcome = await this.store.join(room, conn.id, size);
    } catch (e) {
      if (!(e instanceof StoreUnavailableError)) throw e;
      // Nothing changed: the client may simply try again (the Node client does, after a reconnect).
      conn.sendError('server-busy', 'the shared room store cannot be reached right now; try again in a moment', 'join', room);
      return;
    }
    if (!outcome.ok) {
      conn.log({ event: 'full', id: conn.id, room });
      conn.sendMessage({ type: 'full', room, size });
      return;
    }
    // Joined from here on (a disconnect queued behind this task finds the room in conn.rooms and leaves it).
    conn.joined(room);
    conn.sendMessage({ type: 'joined', v: SIGNALING_PROTOCOL_VERSION, room, id: conn.id, peers: outcome.peers, size });
    await this.store.deliver(room, outcome.peers, encodeServerMessage({ type: 'peer-joined', room, id: conn.id }));
    conn.log({ event: 'join', id: conn.id, room, peers: outcome.peers.length + 1 });
  }

  /** Which of the connection's rooms a relay/leave means; sends the error itself and returns undefined on failure. */
  private pickRoom(conn: Connection, name: string | undefined, ref: string): string | undefined {
    if (name !== undefined) {
      if (!conn.rooms.has(name)) conn.sendError('not-joined', `not in room "${name}"`, ref, name);
      return conn.rooms.has(name) ? name : undefined;
    }
    if (conn.rooms.size === 1) return conn.rooms.values().next().value as string;
    if (conn.rooms.size === 0) conn.sendError('not-joined', 'join a room first', ref);
    else conn.sendError('bad-message', 'this connection is in several rooms: say which with "room"', ref);
    return undefined;
  }

  private async relay(conn: Connection, data: unknown, to: string | undefined, roomName: string | undefined, receivedAt: number): Promise<void> {
    const room = this.pickRoom(conn, roomName, 'relay');
    if (room === undefined) {
      this.host.metrics.drop('not-joined');
      return;
    }
    const members = await this.store.members(room);
    let recipients: string[];
    if (to !== undefined) {
      if (to === conn.id || !members.includes(to)) {
        this.host.metrics.drop('unknown-peer');
        conn.sendError('unknown-peer', `no peer "${to.slice(0, 64)}" in room "${room}"`, 'relay', room);
        return;
      }
      recipients = [to];
    } else {
      recipients = members.filter((m) => m !== conn.id);
    }
    if (recipients.length === 0) return;
    this.host.counters.messagesRelayed += recipients.length;
    const undelivered = await this.store.deliver(room, recipients, encodeServerMessage({ type: 'relay', room, from: conn.id, data }), receivedAt);
    if (undelivered.length === 0) return;
    // Never a silent loss: the sender hears that (and to how many) the message did not go.
    this.host.counters.messagesRelayed -= undelivered.length;
    this.host.metrics.drop('undeliverable', undelivered.length);
    const whom = to !== undefined ? `peer "${to}"` : `${undelivered.length} of ${recipients.length} peer(s)`;
    conn.sendError('undeliverable', `the relay could not be delivered to ${whom}: another server instance cannot be reached right now; send it again later`, 'relay', room);
  }

  private async leave(conn: Connection, roomName: string | undefined): Promise<void> {
    const room = this.pickRoom(conn, roomName, 'leave');
    if (room === undefined) return;
    await this.removeFromRoom(conn, room, 'leave');
    conn.sendMessage({ type: 'left', room });
  }

  private async removeFromRoom(conn: Connection, room: string, reason: 'leave' | 'disconnect'): Promise<void> {
    conn.rooms.delete(room);
    const remaining = await this.store.leave(room, conn.id);
    if (remaining === undefined) return;
    await this.store.deliver(room, remaining, encodeServerMessage({ type: 'peer-left', room, id: conn.id }));
    conn.log({ event: 'leave', id: conn.id, room, reason });
  }
}
