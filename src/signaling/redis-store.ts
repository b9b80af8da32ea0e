/**
 * Rooms in Redis, shared by any number of `serve` instances (`serve --redis <url>`). Loaded only then (ioredis is not
 * imported otherwise). The decisions stay in hub.ts; this file only stores, routes and announces.
 *
 * - Membership: one sorted set per room (scripts in redis-scripts.ts), so the cap is checked and taken in one atomic
 *   step however many instances race for the last place.
 * - Routing: every instance keeps a view of the rooms its own peers are in (redis-room-view.ts): who is in it and on
 *   which instance. A relay is handed to local peers directly and to each other instance with one PUBLISH on that
 *   instance's channel (records of one event-loop turn are batched into one PUBLISH). A membership change is
 *   announced the same way (a versioned snapshot) before the peer-joined/peer-left that follows it, so a peer that
 *   heard of another can always reach it. PUBLISH answers how many subscribers got it: 0 means that instance is gone,
 *   and the sender gets `undeliverable` instead of a silent loss.
 * - Presence: each instance refreshes a key with a TTL of one heartbeat interval; every instance sweeps for expired
 *   ones and removes their memberships (REAP, atomic: one instance wins), telling the room-mates' instances, whose
 *   peers then get peer-left — within 2 heartbeat intervals of a kill -9.
 * - Redis lost: local rooms keep working from the views; joins get `server-busy`, relays to other instances
 *   `undeliverable`; leaves are kept and replayed. Back: the presence and every local membership are re-published
 *   (put back at their old place if Redis restarted empty). An instance that finds it was reaped meanwhile makes its
 *   clients reconnect and join again (RoomStoreHost.resetPeers).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { RtcError } from '../errors.js';
import { StoreUnavailableError, type JoinOutcome, type RoomCounts, type RoomStore, type RoomStoreHost, type StoreHealth } from './rooms.js';
import { JOIN, LEAVE, REAP, REFRESH, REJOIN } from './redis-scripts.js';
import { RoomView, decodeMembers, encodeMembers, membersFromZset, type Member } from './redis-room-view.js';
import { parseRedisUrl, REDIS_PREFIX_RE, type RedisTarget } from './redis-url.js';
import type { Buckets } from './metrics.js';

export interface RedisStoreOptions {
  /** redis:// or rediss:// (password in the URL; see redis-url.ts). */
  url: string;
  /** Key and channel prefix. Default "rtc:". */
  prefix?: string;
  /** The server's heartbeat interval: presence TTL (a dead instance is swept within ~1.25 of it). */
  heartbeatMs: number;
  /** Give up the first connection after this long. Default 5000. */
  connectTimeoutMs?: number;
  /** A command that takes longer fails (and marks the store degraded). Default 2000. */
  commandTimeoutMs?: number;
}

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;
type Scripted = Redis & Record<'rtcJoin' | 'rtcLeave' | 'rtcRejoin' | 'rtcReap' | 'rtcRefresh', ScriptFn>;

/** A PUBLISH is sent early once its records pass this many bytes (Redis's pub/sub buffer limits are per client). */
const MAX_BATCH_BYTES = 256 * 1024;
const NONE: readonly string[] = Object.freeze([]);

function newInstanceId(): string {
  return randomBytes(6).toString('base64url');
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** What went wrong with the first connection, in words a user can act on. */
function connectError(target: RedisTarget, e: unknown): RtcError {
  const msg = errText(e);
  const code = (e as { code?: string }).code ?? '';
  const where = target.display;
  if (/NOAUTH|WRONGPASS|invalid password|invalid username-password/i.test(msg)) {
    return new RtcError('RTC_ERR_REDIS', `Redis at ${where} refused the credentials: ${msg}`, {
      hint: 'put the password in the URL (redis://:PASSWORD@host:6379), preferably through RTC_REDIS_URL so it does not show in `ps`',
      cause: e,
    });
  }
  if (code === 'ECONNREFUSED') {
    return new RtcError('RTC_ERR_REDIS', `nothing is listening at ${where} (connection refused)`, {
      hint: 'start redis-server there, or pass the right --redis URL',
      cause: e,
    });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new RtcError('RTC_ERR_REDIS', `cannot resolve the Redis host of ${where}`, { hint: 'check the host name in --redis', cause: e });
  }
  if (/certificate|SSL|TLS/i.test(msg)) {
    return new RtcError('RTC_ERR_REDIS', `TLS with Redis at ${where} failed: ${msg}`, {
      hint: 'for a private CA, point NODE_EXTRA_CA_CERTS at its PEM file; use redis:// for a server without TLS',
      cause: e,
    });
  }
  return new RtcError('RTC_ERR_REDIS', `cannot use Redis at ${where}: ${msg}`, { hint: 'check that redis-server runs there and that --redis is right', cause: e });
}

interface Batch {
  lines: string[];
  bytes: number;
  done: Promise<boolean>;
  resolve: (ok: boolean) => void;
}

interface PendingLeave {
  room: string;
  peer: string;
  /** Instances that held room-mates when it left: they must still hear peer-left. */
  insts: string[];
}

export class RedisRoomStore implements RoomStore {
  /** Where to record each presence refresh's round-trip time (the server's ServerMetrics.storeRtt). */
  rttSink: Buckets | undefined;
  private host: RoomStoreHost | undefined;
  private id = newInstanceId();
  private readonly views = new Map<string, RoomView>();
  private readonly outbox = new Map<string, Batch>();
  private flushScheduled = false;
  private pendingLeaves: PendingLeave[] = [];
  private timers: NodeJS.Timeout[] = [];
  private cmdReady = true;
  private subReady = true;
  private refreshOk = true;
  private state: StoreHealth['state'] = 'ok';
  private recovering: Promise<void> | undefined;
  private rttMs: number | undefined;
  private reconnects = 0;
  private sweepAfter = 0;
  /** Rooms restored into an emptied Redis while keeping members it did not have: checked once the grace is over. */
  private readonly kept = new Set<string>();
  private closed = false;
  private readonly p: string;
  private readonly ttlMs: number;

  private constructor(
    private readonly cmd: Scripted,
    private readonly sub: Redis,
    private readonly target: RedisTarget,
    private readonly o: RedisStoreOptions,
  ) {
    this.p = o.prefix ?? 'rtc:';
    // Presence outlives a few missed refreshes (3 per TTL) but not 2 heartbeat intervals (the bound).
    this.ttlMs = Math.max(1000, o.heartbeatMs);
  }

  /** Connect (both connections), load the scripts, subscribe. Rejects RTC_ERR_REDIS (never printing the password). */
  static async connect(o: RedisStoreOptions): Promise<RedisRoomStore> {
    const target = parseRedisUrl(o.url);
    const prefix = o.prefix ?? 'rtc:';
    if (!REDIS_PREFIX_RE.test(prefix)) {
      throw new RtcError('RTC_ERR_USAGE', `bad Redis key prefix "${prefix}": use 1-64 characters of A-Z a-z 0-9 : . _ -`);
    }
    let started = false;
    const base: RedisOptions = {
      host: target.host,
      port: target.port,
      username: target.username,
      password: target.password,
      db: target.db,
      // SNI only for names (RFC 6066 §3: not for IP literals); the certificate is checked against the host either way.
      tls: target.tls ? (isIP(target.host) ? {} : { servername: target.host }) : undefined,
      lazyConnect: true,
      connectTimeout: o.connectTimeoutMs ?? 5000,
      // Backoff with jitter after a loss; none for the first connection (its failure is reported and serve exits).
      retryStrategy: (times) => (started ? Math.min(2000, 50 * 2 ** Math.min(times, 6)) * (0.5 + Math.random() / 2) : null),
      enableReadyCheck: true,
      showFriendlyErrorStack: false,
    };
    const cmd = new Redis({
      ...base,
      // Fail at once while disconnected instead of queueing: the caller decides (server-busy, undeliverable, replay).
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: o.commandTimeoutMs ?? 2000,
      enableAutoPipelining: true,
    }) as Scripted;
    const sub = new Redis({ ...base, enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: true });
    // ioredis reports the cause (ECONNREFUSED, WRONGPASS ...) as an 'error' event; connect() only says "closed".
    let cause: unknown;
    const remember = (e: unknown): void => {
      cause ??= e;
    };
    cmd.on('error', remember);
    sub.on('error', remember);
    try {
      await Promise.all([cmd.connect(), sub.connect()]);
      await cmd.ping();
    } catch (e) {
      cmd.disconnect();
      sub.disconnect();
      throw connectError(target, cause ?? e);
    }
    const quiet = (): void => {};
    cmd.off('error', remember).on('error', quiet);
    sub.off('error', remember).on('error', quiet);
    cmd.defineCommand('rtcJoin', { numberOfKeys: 5, lua: JOIN });
    cmd.defineCommand('rtcLeave', { numberOfKeys: 4, lua: LEAVE });
    cmd.defineCommand('rtcRejoin', { numberOfKeys: 5, lua: REJOIN });
    cmd.defineCommand('rtcReap', { numberOfKeys: 6, lua: REAP });
    cmd.defineCommand('rtcRefresh', { numberOfKeys: 3, lua: REFRESH });
    started = true;
    const store = new RedisRoomStore(cmd, sub, target, { ...o, prefix });
    try {
      await store.start();
    } catch (e) {
      cmd.disconnect();
      sub.disconnect();
      throw connectError(target, e);
    }
    return store;
  }

  /** The server's side (called once by the roomStore factory). */
  attach(host: RoomStoreHost): this {
    this.host = host;
    return this;
  }

  get instanceId(): string {
    return this.id;
  }

  get url(): string {
    return this.target.display;
  }

  private key = {
    room: (room: string): string => `${this.p}room:${room}`,
    seq: (): string => `${this.p}seq`,
    count: (): string => `${this.p}count`,
    held: (inst: string): string => `${this.p}held:${inst}`,
    insts: (): string => `${this.p}insts`,
    inst: (inst: string): string => `${this.p}inst:${inst}`,
    reaped: (inst: string): string => `${this.p}reaped:${inst}`,
    channel: (inst: string): string => `${this.p}to:${inst}`,
  };

  private async start(): Promise<void> {
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === this.key.channel(this.id)) this.receive(message);
    });
    await this.sub.subscribe(this.key.channel(this.id));
    if (!(await this.refresh())) throw new Error('a fresh instance id was already reaped');
    for (const [conn, set] of [
      [this.cmd, (v: boolean) => (this.cmdReady = v)],
      [this.sub, (v: boolean) => (this.subReady = v)],
    ] as const) {
      conn.on('ready', () => {
        set(true);
        this.updateState('connection back');
      });
      conn.on('close', () => {
        set(false);
        this.updateState('connection lost');
      });
      conn.on('reconnecting', () => {
        if (conn === this.cmd) this.reconnects++;
      });
    }
    const refreshEvery = Math.max(100, Math.floor(this.ttlMs / 3));
    const sweepEvery = Math.max(100, Math.floor(this.ttlMs / 4));
    this.timers.push(
      setInterval(() => void this.tickPresence(), refreshEvery),
      setInterval(() => void this.sweep(), sweepEvery),
    );
    for (const t of this.timers) t.unref();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // State: ok while both connections are ready and the last presence refresh worked.

  private updateState(why: string): void {
    const ok = this.cmdReady && this.subReady && this.refreshOk;
    const next: StoreHealth['state'] = ok ? 'ok' : 'degraded';
    if (this.closed) return;
    // Degraded until a presence refresh (every third of a TTL) answers again.
    if (next === this.state) return;
    if (next === 'degraded') {
      this.state = 'degraded';
      this.host?.stateChanged('degraded', `Redis at ${this.target.display}: ${why}; local rooms keep working, joins and cross-instance relays are refused`);
      return;
    }
    // Back: re-publish before calling it ok (a join must not take a place a restored member needs).
    this.recovering ??= this.recover()
      .then(() => {
        this.state = 'ok';
        this.reconnects = 0;
        this.host?.stateChanged('ok', `Redis at ${this.target.display}: back; presence and ${this.localCount()} membership(s) re-published`);
      })
      .catch((e: unknown) => {
        this.refreshOk = false;
        this.host?.stateChanged('degraded', `Redis at ${this.target.display}: re-publishing failed: ${errText(e)}`);
      })
      .finally(() => {
        this.recovering = undefined;
      });
  }

  private async tickPresence(): Promise<void> {
    if (this.closed || !this.cmdReady) return;
    try {
      const alive = await this.refresh();
      if (!alive) await this.startOver();
      this.refreshOk = true;
    } catch {
      this.refreshOk = false;
    }
    this.updateState(this.refreshOk ? 'answering again' : 'not answering');
  }

  /** Refresh our presence; false if we were reaped meanwhile. Records the round-trip time. */
  private async refresh(): Promise<boolean> {
    const t0 = performance.now();
    const r = await this.cmd.rtcRefresh(this.key.inst(this.id), this.key.insts(), this.key.reaped(this.id), this.ttlMs, this.id, `${hostname()} ${process.pid}`);
    const ms = performance.now() - t0;
    this.rttMs = ms;
    this.rttSink?.observe(ms / 1000);
    return r === 1;
  }

  private localCount(): number {
    let n = 0;
    for (const v of this.views.values()) n += v.localPeers(this.id).length;
    return n;
  }

  /**
   * The others declared us dead while we could not refresh (our peers are gone from Redis and their room-mates were
   * told). Take a new id and make our clients reconnect and join again, which tells everyone the truth.
   */
  private async startOver(): Promise<void> {
    const peers = [...this.views.values()].flatMap((v) => v.localPeers(this.id).map((m) => m.peer));
    this.views.clear();
    this.kept.clear();
    this.pendingLeaves = [];
    const old = this.id;
    this.id = newInstanceId();
    await this.sub.unsubscribe(this.key.channel(old)).catch(() => undefined);
    await this.sub.subscribe(this.key.channel(this.id));
    await this.refresh();
    this.host?.stateChanged('ok', `this instance was declared dead while cut off from Redis; ${peers.length} client(s) asked to reconnect`);
    this.host?.resetPeers([...new Set(peers)]);
  }

  /** After a loss: presence, then the leaves we could not write, then every local membership (REJOIN). */
  private async recover(): Promise<void> {
    if (!(await this.refresh())) {
      await this.startOver();
      return;
    }
    this.refreshOk = true;
    // If Redis was away for everyone, the others' presence may have expired too: give them one TTL to refresh before
    // sweeping, so that an outage does not make the first instance back declare all the others dead.
    this.sweepAfter = Date.now() + this.ttlMs;
    // One at a time, removed only once done: a failure leaves the rest for the next recovery.
    while (this.pendingLeaves.length > 0) {
      await this.replayLeave(this.pendingLeaves[0]!);
      this.pendingLeaves.shift();
    }
    for (const view of [...this.views.values()]) {
      for (const m of view.localPeers(this.id)) await this.restore(view, m);
    }
  }

  private async replayLeave(l: PendingLeave): Promise<void> {
    const r = (await this.cmd.rtcLeave(this.key.room(l.room), this.key.seq(), this.key.count(), this.key.held(this.id), `${l.peer} ${this.id}`, `${l.room} ${l.peer}`)) as [number, number?, string[]?];
    const members = r[0] === 1 ? membersFromZset(r[2] ?? []) : [];
    const insts = new Set([...l.insts, ...members.map((m) => m.inst)]);
    insts.delete(this.id);
    // The room-mates on other instances never heard it leave: announce it there now (with the room as it is).
    for (const inst of insts) this.post(inst, goneRecord(l.room, l.peer, r[0] === 1 ? Number(r[1]) : 0, members));
  }

  private async restore(view: RoomView, m: Member): Promise<void> {
    const r = (await this.cmd.rtcRejoin(
      this.key.room(view.room),
      this.key.seq(),
      this.key.count(),
      this.key.held(this.id),
      this.key.insts(),
      `${m.peer} ${this.id}`,
      view.capacity,
      `${view.room} ${m.peer}`,
      this.id,
      m.score,
    )) as [number, number?, string[]?];
    if (r[0] === 1) return;
    if (r[0] === 2) {
      // Redis restarted empty: it holds only the members restored so far. Keep the others we know of (their instances
      // are restoring them now; one that left meanwhile is announced by its instance's replayed leave): dropping them
      // here would send our peers' relays to nobody until they are back.
      const restored = membersFromZset(r[2] ?? []);
      const known = new Set(restored.map((x) => x.peer));
      const others = view.members.filter((x) => !known.has(x.peer));
      const members = [...restored, ...others].sort((x, y) => Number(x.score) - Number(y.score));
      // One whose instance died during the outage is never restored: dropGhosts() finds it after the grace.
      if (others.some((x) => x.inst !== this.id)) this.kept.add(view.room);
      view.apply(Number(r[1]), members);
      for (const inst of view.remoteInsts(this.id)) this.post(inst, snapshotRecord(view.room, view.version, members));
      return;
    }
    // Someone took its place while Redis was empty: it cannot stay. Its room-mates forget it; it reconnects.
    const insts = view.remoteInsts(this.id);
    view.remove(m.peer);
    for (const inst of insts) this.post(inst, goneRecord(view.room, m.peer, 0, []));
    if (view.localPeers(this.id).length === 0) this.views.delete(view.room);
    this.host?.resetPeers([m.peer]);
  }

  /** Find instances whose presence expired and remove their memberships (REAP is atomic: one sweeper wins). */
  private async sweep(): Promise<void> {
    if (this.closed || this.state !== 'ok' || Date.now() < this.sweepAfter) return;
    if (this.kept.size > 0) await this.dropGhosts();
    let insts: string[];
    try {
      insts = await this.cmd.smembers(this.key.insts());
    } catch {
      return;
    }
    for (const dead of insts) {
      if (dead === this.id) continue;
      let reaped: [string, string, number, string[]][];
      try {
        reaped = (await this.cmd.rtcReap(
          this.key.inst(dead),
          this.key.held(dead),
          this.key.insts(),
          this.key.count(),
          this.key.seq(),
          this.key.reaped(dead),
          dead,
          `${this.p}room:`,
        )) as [string, string, number, string[]][];
      } catch {
        return;
      }
      for (const [room, peer, seq, flat] of reaped) {
        const members = membersFromZset(flat);
        const record = goneRecord(room, peer, Number(seq), members);
        const targets = new Set(members.map((m) => m.inst));
        for (const inst of targets) {
          if (inst === this.id) this.receive(record);
          else this.post(inst, record);
        }
      }
    }
  }

  /**
   * After Redis restarted empty, members kept in a view but still absent from Redis one TTL later, whose instance has no
   * presence, belonged to an instance that died meanwhile (its memberships died with Redis, so no REAP will find them):
   * drop them and tell our peers, as the sweep would have. Alive instances have restored theirs by now.
   */
  private async dropGhosts(): Promise<void> {
    const alive = new Map<string, boolean>();
    for (const room of [...this.kept]) {
      const view = this.views.get(room);
      const ghosts: Member[] = [];
      try {
        for (const m of view?.members ?? []) {
          if (m.inst === this.id) continue;
          if (!alive.has(m.inst)) alive.set(m.inst, (await this.cmd.exists(this.key.inst(m.inst))) === 1);
          if (alive.get(m.inst) || (await this.cmd.zscore(this.key.room(room), `${m.peer} ${m.inst}`)) !== null) continue;
          ghosts.push(m);
        }
      } catch {
        return; // Redis not answering: the next sweep tries again
      }
      this.kept.delete(room);
      for (const g of ghosts) this.receive(goneRecord(room, g.peer, 0, []));
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // RoomStore

  async join(room: string, peer: string, capacity: number): Promise<JoinOutcome> {
    if (this.state !== 'ok') throw new StoreUnavailableError(`Redis at ${this.target.display} is unreachable`);
    let r: [number, number?, string[]?];
    try {
      r = (await this.cmd.rtcJoin(
        this.key.room(room),
        this.key.seq(),
        this.key.count(),
        this.key.held(this.id),
        this.key.insts(),
        `${peer} ${this.id}`,
        capacity,
        `${room} ${peer}`,
        this.id,
      )) as [number, number?, string[]?];
    } catch (e) {
      // It may have run before the answer was lost: make sure it is undone once Redis answers again.
      this.pendingLeaves.push({ room, peer, insts: [] });
      this.refreshOk = false;
      this.updateState('a join failed');
      throw new StoreUnavailableError(`Redis at ${this.target.display}: ${errText(e)}`, { cause: e });
    }
    if (r[0] !== 1) return { ok: false, reason: 'full' };
    const members = membersFromZset(r[2] ?? []);
    let view = this.views.get(room);
    if (!view) {
      view = new RoomView(room, capacity);
      this.views.set(room, view);
    }
    view.capacity = capacity;
    view.apply(Number(r[1]), members);
    // Tell the room-mates' instances first: the peer-joined that follows must find the newcomer in their view.
    const record = snapshotRecord(room, Number(r[1]), members);
    for (const inst of view.remoteInsts(this.id)) this.post(inst, record);
    return { ok: true, peers: members.filter((m) => m.peer !== peer).map((m) => m.peer) };
  }

  async leave(room: string, peer: string): Promise<string[] | undefined> {
    const view = this.views.get(room);
    if (!view?.inst(peer)) return undefined;
    const insts = view.remoteInsts(this.id);
    view.remove(peer);
    const local = (): string[] => {
      if (view.localPeers(this.id).length === 0) this.views.delete(room);
      return view.localPeers(this.id).map((m) => m.peer);
    };
    if (this.state !== 'ok') {
      // Our own peers hear it now; the others when Redis is back (replayLeave).
      this.pendingLeaves.push({ room, peer, insts });
      return local();
    }
    let r: [number, number?, string[]?];
    try {
      r = (await this.cmd.rtcLeave(this.key.room(room), this.key.seq(), this.key.count(), this.key.held(this.id), `${peer} ${this.id}`, `${room} ${peer}`)) as [number, number?, string[]?];
    } catch {
      this.pendingLeaves.push({ room, peer, insts });
      this.refreshOk = false;
      this.updateState('a leave failed');
      return local();
    }
    if (r[0] !== 1) {
      // Redis no longer had it (restarted empty, not yet restored): tell the others' instances directly.
      for (const inst of insts) this.post(inst, goneRecord(room, peer, 0, []));
      return local();
    }
    const members = membersFromZset(r[2] ?? []);
    view.apply(Number(r[1]), members);
    // The room-mates' instances update their view and announce peer-left to their own peers (as for a swept
    // instance); this instance's own room-mates hear it from the hub.
    const record = goneRecord(room, peer, Number(r[1]), members);
    for (const inst of new Set([...insts, ...view.remoteInsts(this.id)])) this.post(inst, record);
    return local();
  }

  members(room: string): Promise<readonly string[]> {
    return Promise.resolve(this.views.get(room)?.ids ?? NONE);
  }

  deliver(room: string, peers: readonly string[], text: string, sentAt?: number): Promise<readonly string[]> {
    const view = this.views.get(room);
    const local = this.host!.deliverLocal;
    let remote: Map<string, string[]> | undefined;
    for (const peer of peers) {
      const inst = view?.inst(peer) ?? this.id;
      if (inst === this.id) {
        local(peer, text, sentAt, false);
        continue;
      }
      remote ??= new Map();
      const list = remote.get(inst);
      if (list) list.push(peer);
      else remote.set(inst, [peer]);
    }
    if (!remote) return Promise.resolve(NONE);
    if (remote.size === 1) {
      const [[inst, list]] = remote;
      return this.post(inst, `d ${sentAt ?? 0} ${list.join(',')} ${text}`).then((ok) => (ok ? NONE : list));
    }
    const waits: Promise<string[]>[] = [];
    for (const [inst, list] of remote) {
      waits.push(this.post(inst, `d ${sentAt ?? 0} ${list.join(',')} ${text}`).then((ok) => (ok ? [] : list)));
    }
    return Promise.all(waits).then((r) => r.flat());
  }

  async counts(): Promise<RoomCounts> {
    if (this.state === 'ok') {
      try {
        const [rooms, peers] = await this.cmd.hmget(this.key.count(), 'rooms', 'peers');
        return { rooms: Math.max(0, Number(rooms ?? 0)), peers: Math.max(0, Number(peers ?? 0)) };
      } catch {
        // fall through to what this instance knows
      }
    }
    return { rooms: this.views.size, peers: this.localCount() };
  }

  health(): StoreHealth {
    return { kind: 'redis', state: this.state, instance: this.id, rttMs: this.rttMs, reconnects: this.reconnects };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.flush();
    // Leave nothing behind that the others would have to sweep: our presence, our (by now empty) membership set.
    if (this.cmdReady) {
      for (const l of this.pendingLeaves.splice(0)) await this.replayLeave(l).catch(() => undefined);
      const held = await this.cmd.smembers(this.key.held(this.id)).catch(() => [] as string[]);
      for (const e of held) {
        const [room, peer] = e.split(' ');
        if (room && peer) await this.replayLeave({ room, peer, insts: [] }).catch(() => undefined);
      }
      this.flush();
      await this.cmd.multi().del(this.key.inst(this.id), this.key.held(this.id)).srem(this.key.insts(), this.id).exec().catch(() => undefined);
    }
    await Promise.all([this.cmd.quit().catch(() => this.cmd.disconnect()), this.sub.quit().catch(() => this.sub.disconnect())]);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Pub/sub: one channel per instance; records of one event-loop turn travel in one PUBLISH, in order.

  /** Queue a record for `inst`. Resolves true once published to a listening instance, false if it could not be. */
  private post(inst: string, record: string): Promise<boolean> {
    if (this.state !== 'ok' && !this.recovering) return Promise.resolve(false);
    let b = this.outbox.get(inst);
    if (!b) {
      let resolve!: (ok: boolean) => void;
      const done = new Promise<boolean>((r) => (resolve = r));
      b = { lines: [], bytes: 0, done, resolve };
      this.outbox.set(inst, b);
    }
    b.lines.push(record);
    b.bytes += record.length;
    if (b.bytes >= MAX_BATCH_BYTES) this.publish(inst, b);
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return b.done;
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const [inst, b] of this.outbox) this.publish(inst, b);
  }

  private publish(inst: string, b: Batch): void {
    this.outbox.delete(inst);
    this.cmd.publish(this.key.channel(inst), b.lines.join('\n')).then(
      (n) => b.resolve(n > 0),
      () => b.resolve(false),
    );
  }

  /** Records from another instance (or our own sweep): deliveries, room snapshots, peers gone. */
  private receive(message: string): void {
    let at = 0;
    while (at < message.length) {
      let end = message.indexOf('\n', at);
      if (end < 0) end = message.length;
      this.record(message.slice(at, end));
      at = end + 1;
    }
  }

  private record(line: string): void {
    const kind = line.charCodeAt(0);
    const a = line.indexOf(' ', 2);
    const b = line.indexOf(' ', a + 1);
    if (a < 0 || b < 0) return;
    if (kind === 0x64 /* d <sentAt> <peers> <text> */) {
      const sentAt = Number(line.slice(2, a));
      const text = line.slice(b + 1);
      const deliver = this.host!.deliverLocal;
      for (const peer of line.slice(a + 1, b).split(',')) deliver(peer, text, sentAt > 0 ? sentAt : undefined, true);
      return;
    }
    const room = line.slice(2, a);
    const view = this.views.get(room);
    if (kind === 0x6d /* m <room> <seq> <members> */) {
      view?.apply(Number(line.slice(a + 1, b)), decodeMembers(line.slice(b + 1)));
      return;
    }
    if (kind === 0x67 /* g <room> <peer> <seq> <members> */) {
      const c = line.indexOf(' ', b + 1);
      if (c < 0 || !view) return;
      const peer = line.slice(a + 1, b);
      const seq = Number(line.slice(b + 1, c));
      if (seq > 0) view.apply(seq, decodeMembers(line.slice(c + 1)));
      view.remove(peer);
      const remaining = view.localPeers(this.id).map((m) => m.peer);
      if (remaining.length === 0) this.views.delete(room);
      else this.host!.peerGone(room, peer, remaining);
    }
  }
}

function snapshotRecord(room: string, seq: number, members: readonly Member[]): string {
  return `m ${room} ${seq} ${encodeMembers(members)}`;
}

function goneRecord(room: string, peer: string, seq: number, members: readonly Member[]): string {
  return `g ${room} ${peer} ${seq} ${encodeMembers(members)}`;
}
