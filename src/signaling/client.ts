/**
 * The typed signaling client every CLI peer uses (contract: src/signaling/types.ts; wire: docs/signaling-protocol.md).
 *
 *   const sc = await SignalingClient.connect({ url, signal });
 *   const { id, peers } = await sc.join('room1');
 *   sc.on('message', ({ from, data }) => ...);  sc.send({ sdp }, peers[0]);
 *
 * After an unexpected drop it reconnects with exponential backoff and full jitter and re-joins its room
 * (`disconnected` / `reconnected` events). Every wait has a timeout and honours `signal`. Never prints, never exits.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { interruptError, RtcError } from '../errors.js';
import type { JoinResult, SignalingClientEvents, SignalingClientOptions } from './types.js';
import {
  CLOSE_GOING_AWAY,
  CLOSE_NORMAL,
  CLOSE_SERVICE_RESTART,
  CLOSE_THROTTLED,
  CLOSE_UNAUTHORIZED,
  ROOM_NAME_RE,
  parseServerMessage,
  type ServerMessage,
  type WelcomeMsg,
} from './protocol.js';

export type { JoinResult, SignalingClientEvents, SignalingClientOptions };

/** Extra options beyond the shared contract. */
export interface SignalingClientExtraOptions {
  /** How long join()/leave() wait for the server's answer. Default 10000 ms. */
  requestTimeoutMs?: number;
  /** Give up reconnecting after this many failed attempts in a row (then emit `closed` with the error). Default: never. */
  maxReconnectAttempts?: number;
  /** Messages queued by send() while reconnecting, at most. Default 1000; older ones are dropped first. */
  maxQueued?: number;
}

export type ClientOptions = SignalingClientOptions & SignalingClientExtraOptions;

/** Events beyond the shared contract. */
export interface SignalingClientExtraEvents {
  /** The client is finished for good: close() was called, the signal aborted, auth was refused, or reconnect gave up. */
  closed: (err?: RtcError) => void;
}

type AllEvents = SignalingClientEvents & SignalingClientExtraEvents;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyListener = (...args: any[]) => void;

type State = 'open' | 'reconnecting' | 'closed';

interface Pending {
  kind: 'join' | 'leave';
  room: string;
  resolve: (v: ServerMessage) => void;
  reject: (e: RtcError) => void;
  timer: NodeJS.Timeout;
}

const TLS_ERROR_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_NOT_YET_VALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** Open one socket and wait for `welcome`. Rejects RtcError. */
function openSocket(opts: ClientOptions, timeoutMs: number): Promise<{ ws: WebSocket; welcome: WelcomeMsg }> {
  return new Promise((resolve, reject) => {
    const signal = opts.signal;
    if (signal?.aborted) {
      reject(interruptError(signal.reason, 'signaling was aborted'));
      return;
    }
    let ws: WebSocket;
    try {
      ws = new WebSocket(opts.url, {
        handshakeTimeout: timeoutMs,
        perMessageDeflate: false,
        ca: opts.tls?.ca,
        rejectUnauthorized: opts.tls?.rejectUnauthorized,
      });
    } catch (e) {
      reject(new RtcError('RTC_ERR_BAD_URL', `bad signaling URL "${opts.url}": ${e instanceof Error ? e.message : String(e)}`, {
        hint: 'use ws://host:port/ws or wss://host:port/ws',
        cause: e,
      }));
      return;
    }
    let done = false;
    const finish = (err: RtcError | undefined, welcome?: WelcomeMsg): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      ws.off('message', onMessage);
      ws.off('error', onError);
      ws.off('close', onClose);
      if (err) {
        ws.on('error', () => {});
        ws.terminate();
        reject(err);
      } else {
        resolve({ ws, welcome: welcome as WelcomeMsg });
      }
    };
    const timer = setTimeout(
      () =>
        finish(
          new RtcError('RTC_ERR_TIMEOUT', `no answer from the signaling server at ${opts.url} within ${timeoutMs} ms`, {
            hint: 'check that `rtc-cli serve` runs there and that nothing between blocks WebSockets',
          }),
        ),
      timeoutMs,
    );
    const onAbort = (): void => finish(interruptError((signal as AbortSignal).reason, 'signaling was aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
      if (isBinary) return;
      const m = parseServerMessage(data.toString());
      if (m?.type === 'welcome') finish(undefined, m);
      else if (m?.type === 'error' && (m.code === 'server-full' || m.code === 'too-many-connections')) {
        finish(new RtcError('RTC_ERR_SIGNAL_REFUSED', `the signaling server refused the connection: ${m.message}`, { details: { code: m.code } }));
      }
    };
    const onError = (e: Error & { code?: string }): void => finish(connectError(opts.url, e));
    const onClose = (code: number, reason: Buffer): void =>
      finish(
        new RtcError('RTC_ERR_SIGNAL_CONNECT', `the signaling server at ${opts.url} closed the connection (${code} ${reason.toString()})`.trim(), {
          hint: 'is it an rtc-cli signaling server? The path is /ws',
        }),
      );
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.on('close', onClose);
  });
}

function connectError(url: string, e: Error & { code?: string }): RtcError {
  const code = e.code ?? '';
  if (TLS_ERROR_CODES.has(code) || /certificate|self[- ]signed|SSL/i.test(e.message)) {
    return new RtcError('RTC_ERR_TLS', `TLS handshake with ${url} failed: ${e.message}`, {
      hint: 'the `serve --https` certificate is self-signed: trust it (tls.ca = the cert printed by serve) or use ws:// on a trusted network',
      cause: e,
    });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new RtcError('RTC_ERR_DNS', `cannot resolve the signaling server host in ${url}`, { hint: 'check the host name in --signal', cause: e });
  }
  const unexpected = /Unexpected server response: (\d+)/.exec(e.message);
  if (unexpected) {
    return new RtcError('RTC_ERR_SIGNAL_CONNECT', `${url} is not a signaling endpoint (HTTP ${unexpected[1]})`, {
      hint: 'the signaling path of `rtc-cli serve` is /ws, e.g. ws://127.0.0.1:3000/ws',
      cause: e,
    });
  }
  return new RtcError('RTC_ERR_SIGNAL_CONNECT', `cannot reach the signaling server at ${url}: ${e.message || code}`, {
    hint: 'start one with `rtc-cli serve` (or pass --signal ws://host:port/ws)',
    cause: e,
  });
}

export class SignalingClient extends EventEmitter {
  private ws: WebSocket;
  private welcomeMsg: WelcomeMsg;
  private state: State = 'open';
  private myId: string | undefined;
  private myRoom: string | undefined;
  /** The room to re-join after a reconnect (set by a successful join, cleared by leave). */
  private wantedRoom: string | undefined;
  private pending: Pending | undefined;
  private queue: string[] = [];
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly opts: ClientOptions;
  private readonly onAbort: () => void;
  private closedPromise: Promise<void> | undefined;

  // Typed views of EventEmitter's methods (SignalingClientEvents + closed).
  override on<E extends keyof AllEvents>(event: E, listener: AllEvents[E]): this {
    return super.on(event, listener as AnyListener);
  }
  override once<E extends keyof AllEvents>(event: E, listener: AllEvents[E]): this {
    return super.once(event, listener as AnyListener);
  }
  override off<E extends keyof AllEvents>(event: E, listener: AllEvents[E]): this {
    return super.off(event, listener as AnyListener);
  }
  override emit<E extends keyof AllEvents>(event: E, ...args: Parameters<AllEvents[E]>): boolean {
    return super.emit(event, ...args);
  }

  private constructor(opts: ClientOptions, ws: WebSocket, welcome: WelcomeMsg) {
    super();
    this.opts = opts;
    this.ws = ws;
    this.welcomeMsg = welcome;
    this.attach(ws);
    this.onAbort = () => {
      void this.shutdown(interruptError((opts.signal as AbortSignal).reason, 'signaling was aborted'));
    };
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Connect and wait for the server's welcome. Rejects RTC_ERR_SIGNAL_CONNECT / RTC_ERR_TIMEOUT / RTC_ERR_TLS / RTC_ERR_BAD_URL. */
  static async connect(opts: ClientOptions): Promise<SignalingClient> {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch (e) {
      throw new RtcError('RTC_ERR_BAD_URL', `bad signaling URL "${opts.url}"`, { hint: 'use ws://host:port/ws or wss://host:port/ws', cause: e });
    }
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
      throw new RtcError('RTC_ERR_BAD_URL', `signaling URL must start with ws:// or wss:// (got "${opts.url}")`, {
        hint: 'e.g. ws://127.0.0.1:3000/ws',
      });
    }
    // `--signal ws://host:port/ws?token=...` carries the token for peer commands that have no --token flag; it is
    // sent in `join`, not in the HTTP request line (which proxies log).
    let effective = opts;
    const urlToken = u.searchParams.get('token');
    if (urlToken !== null) {
      u.searchParams.delete('token');
      effective = { ...opts, url: u.toString(), token: opts.token ?? urlToken };
    }
    const { ws, welcome } = await openSocket(effective, effective.connectTimeoutMs ?? 10_000);
    return new SignalingClient(effective, ws, welcome);
  }

  /** Our peer id in the current room (undefined before join / while reconnecting). */
  get id(): string | undefined {
    return this.myId;
  }

  get room(): string | undefined {
    return this.myRoom;
  }

  /** What the server announced on connect (auth, limits). */
  get welcome(): WelcomeMsg {
    return this.welcomeMsg;
  }

  get connected(): boolean {
    return this.state === 'open';
  }

  /**
   * Join a room. Rejects RTC_ERR_ROOM_FULL, RTC_ERR_SIGNAL_AUTH (wrong/missing token; the socket is closed),
   * RTC_ERR_SIGNAL_REFUSED (bad name, already in a room, ...), RTC_ERR_TIMEOUT.
   */
  async join(room: string): Promise<JoinResult> {
    if (!ROOM_NAME_RE.test(room)) {
      throw new RtcError('RTC_ERR_USAGE', `bad room name "${room}": use 1-64 characters of A-Z a-z 0-9 . _ -`);
    }
    const res = await this.doJoin(room);
    this.wantedRoom = room;
    return res;
  }

  private async doJoin(room: string): Promise<JoinResult> {
    const msg: Record<string, unknown> = { type: 'join', room };
    if (this.opts.token !== undefined) msg.token = this.opts.token;
    const reply = await this.request('join', room, JSON.stringify(msg));
    if (reply.type === 'joined') {
      this.myId = reply.id;
      this.myRoom = reply.room;
      return { id: reply.id, room: reply.room, peers: reply.peers };
    }
    if (reply.type === 'full') {
      throw new RtcError('RTC_ERR_ROOM_FULL', `room "${room}" is full (${reply.size} peers)`, {
        hint: 'pick another room name, or restart `rtc-cli serve` with a larger --room-size',
        details: { room, size: reply.size },
      });
    }
    throw this.refusal(reply);
  }

  /** Relay `data` to one peer (`to`) or to everyone else in the room. Queued while reconnecting. */
  send(data: unknown, to?: string): void {
    if (this.state === 'closed') throw new RtcError('RTC_ERR_SIGNAL_CONNECT', 'the signaling client is closed');
    const msg: Record<string, unknown> = { type: 'relay', data };
    if (to !== undefined) msg.to = to;
    const text = JSON.stringify(msg);
    if (this.state === 'open' && this.myRoom !== undefined) {
      this.ws.send(text);
      return;
    }
    if (this.state === 'open' && this.wantedRoom === undefined) {
      throw new RtcError('RTC_ERR_USAGE', 'join a room before sending');
    }
    // Reconnecting (or re-joining): keep it for after the re-join.
    this.queue.push(text);
    const max = this.opts.maxQueued ?? 1000;
    if (this.queue.length > max) this.queue.splice(0, this.queue.length - max);
  }

  /** Leave the room (others get peer-left). Resolves once the server confirmed, or at once if not in a room. */
  async leave(): Promise<void> {
    const room = this.myRoom;
    this.wantedRoom = undefined;
    this.queue = [];
    if (room === undefined || this.state !== 'open') {
      this.myRoom = undefined;
      return;
    }
    const reply = await this.request('leave', room, JSON.stringify({ type: 'leave', room }));
    this.myRoom = undefined;
    if (reply.type !== 'left') throw this.refusal(reply);
  }

  /** Close for good (no reconnect). Resolves when the socket is closed (at most ~2 s). */
  close(): Promise<void> {
    return this.shutdown(undefined);
  }

  // -------------------------------------------------------------------------------------------------------------

  private refusal(reply: ServerMessage): RtcError {
    if (reply.type === 'error') {
      if (reply.code === 'unauthorized') {
        return new RtcError('RTC_ERR_SIGNAL_AUTH', `the signaling server refused the token: ${reply.message}`, {
          hint: 'pass the token the server was started with (--token / RTC_TOKEN)',
          details: { code: reply.code },
        });
      }
      if (reply.code === 'throttled') {
        return new RtcError('RTC_ERR_SIGNAL_AUTH', `the signaling server refused the join: ${reply.message}`, {
          hint: 'too many wrong tokens came from this address: wait a minute, then retry with the right token (--token / RTC_TOKEN)',
          details: { code: reply.code },
        });
      }
      return new RtcError('RTC_ERR_SIGNAL_REFUSED', `the signaling server refused the request: ${reply.message} (${reply.code})`, {
        details: { code: reply.code },
      });
    }
    return new RtcError('RTC_ERR_PROTOCOL', `unexpected reply "${reply.type}" from the signaling server`);
  }

  private request(kind: 'join' | 'leave', room: string, text: string): Promise<ServerMessage> {
    if (this.state === 'closed') return Promise.reject(new RtcError('RTC_ERR_SIGNAL_CONNECT', 'the signaling client is closed'));
    if (this.state !== 'open') return Promise.reject(new RtcError('RTC_ERR_SIGNAL_CONNECT', 'the signaling connection is down (reconnecting)'));
    if (this.pending) return Promise.reject(new RtcError('RTC_ERR_USAGE', `a ${this.pending.kind} is already in progress`));
    const ms = this.opts.requestTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(new RtcError('RTC_ERR_TIMEOUT', `the signaling server did not answer ${kind} within ${ms} ms`));
      }, ms);
      this.pending = { kind, room, resolve, reject, timer };
      this.ws.send(text);
    });
  }

  private settle(reply: ServerMessage | RtcError): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    if (reply instanceof RtcError) p.reject(reply);
    else p.resolve(reply);
  }

  private emitError(err: Error): void {
    // EventEmitter throws on an unhandled 'error': only emit when someone listens.
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /**
   * The server pings every `welcome.heartbeatMs`. If nothing at all (ping, message) arrives for 2.5 intervals + 2 s,
   * the path is dead even though TCP has not noticed (a sleeping laptop, a vanished NAT binding): drop the socket so
   * the reconnect logic takes over instead of waiting for TCP's retransmission timeout (minutes).
   */
  private startWatchdog(ws: WebSocket): void {
    const hb = this.welcomeMsg.heartbeatMs;
    if (!(typeof hb === 'number' && hb > 0)) return; // an older server that does not announce it
    const limit = hb * 2.5 + 2000;
    let lastHeard = Date.now();
    const heard = (): void => {
      lastHeard = Date.now();
    };
    ws.on('ping', heard);
    ws.on('message', heard);
    ws.on('pong', heard);
    const timer = setInterval(() => {
      if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) {
        clearInterval(timer);
        return;
      }
      if (Date.now() - lastHeard > limit) {
        clearInterval(timer);
        ws.terminate();
      }
    }, Math.max(50, Math.min(hb, 5000)));
    timer.unref();
    ws.once('close', () => clearInterval(timer));
  }

  private attach(ws: WebSocket): void {
    this.startWatchdog(ws);
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (ws !== this.ws || isBinary) return;
      const m = parseServerMessage(data.toString());
      if (m) this.onServerMessage(m);
    });
    ws.on('error', () => {
      // Followed by 'close', which decides what happens next.
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (ws !== this.ws) return;
      this.onSocketClosed(code, reason.toString());
    });
  }

  private onServerMessage(m: ServerMessage): void {
    switch (m.type) {
      case 'relay':
        if (m.room === this.myRoom) this.emit('message', { from: m.from, data: m.data });
        return;
      case 'peer-joined':
        if (m.room === this.myRoom) this.emit('peer-joined', m.id);
        return;
      case 'peer-left':
        if (m.room === this.myRoom) this.emit('peer-left', m.id);
        return;
      case 'joined':
      case 'full':
        if (this.pending?.kind === 'join') this.settle(m);
        return;
      case 'left':
        if (this.pending?.kind === 'leave') this.settle(m);
        return;
      case 'error':
        if (this.pending && (m.ref === this.pending.kind || m.code === 'unauthorized')) {
          this.settle(m);
          return;
        }
        this.emitError(
          new RtcError('RTC_ERR_SIGNAL_REFUSED', `signaling server: ${m.message} (${m.code})`, { details: { code: m.code, ref: m.ref } }),
        );
        return;
      default:
        return;
    }
  }

  private onSocketClosed(code: number, reason: string): void {
    if (this.state === 'closed') return;
    const lostRoom = this.myRoom;
    this.myId = undefined;
    this.myRoom = undefined;
    if (code === CLOSE_UNAUTHORIZED || code === CLOSE_THROTTLED) {
      // Reconnecting would not help (and after a throttle would only extend it).
      const err =
        code === CLOSE_UNAUTHORIZED
          ? new RtcError('RTC_ERR_SIGNAL_AUTH', 'the signaling server refused the token', { hint: 'pass the token the server was started with (--token / RTC_TOKEN)' })
          : new RtcError('RTC_ERR_SIGNAL_AUTH', 'the signaling server refused the join: too many wrong tokens from this address', {
              hint: 'wait a minute, then retry with the right token (--token / RTC_TOKEN)',
            });
      this.settle(err);
      void this.shutdown(err);
      return;
    }
    const why = `connection lost (${code}${reason ? ' ' + reason : ''})`;
    this.settle(new RtcError('RTC_ERR_SIGNAL_CONNECT', `signaling ${why}`));
    if (this.opts.reconnect === false) {
      void this.shutdown(new RtcError('RTC_ERR_SIGNAL_CONNECT', `signaling ${why}`, { hint: 'is `rtc-cli serve` still running?' }));
      return;
    }
    if (lostRoom !== undefined) this.wantedRoom = lostRoom;
    this.state = 'reconnecting';
    this.emit('disconnected', why);
    // A server that drains (1001) or restarts (1012) asks us to come back now (a load balancer sends us to another
    // instance): no backoff for the first attempt, only a spread of up to 100 ms so its clients do not arrive at once.
    this.scheduleReconnect(0, code === CLOSE_GOING_AWAY || code === CLOSE_SERVICE_RESTART);
  }

  private scheduleReconnect(attempt: number, now = false): void {
    if (this.state !== 'reconnecting') return;
    const max = this.opts.maxReconnectAttempts ?? Infinity;
    if (attempt >= max) {
      void this.shutdown(
        new RtcError('RTC_ERR_SIGNAL_CONNECT', `gave up reconnecting to ${this.opts.url} after ${attempt} attempts`, {
          hint: 'is `rtc-cli serve` still running?',
        }),
      );
      return;
    }
    const initial = this.opts.backoffInitialMs ?? 250;
    const cap = this.opts.backoffMaxMs ?? 5000;
    // Exponential backoff with jitter (half fixed, half random) so a restarted server is not hit by every client at once.
    const ceiling = Math.min(cap, initial * 2 ** attempt);
    const delay = now ? Math.random() * 100 : ceiling / 2 + Math.random() * (ceiling / 2);
    this.reconnectTimer = setTimeout(() => void this.tryReconnect(attempt), delay);
  }

  private async tryReconnect(attempt: number): Promise<void> {
    this.reconnectTimer = undefined;
    if (this.state !== 'reconnecting') return;
    let opened: { ws: WebSocket; welcome: WelcomeMsg };
    try {
      opened = await openSocket(this.opts, this.opts.connectTimeoutMs ?? 10_000);
    } catch (e) {
      if (this.opts.signal?.aborted) return;
      if (e instanceof RtcError && (e.code === 'RTC_ERR_TLS' || e.code === 'RTC_ERR_BAD_URL')) {
        void this.shutdown(e);
        return;
      }
      this.scheduleReconnect(attempt + 1);
      return;
    }
    if (this.state !== 'reconnecting') {
      opened.ws.on('error', () => {});
      opened.ws.terminate();
      return;
    }
    this.ws = opened.ws;
    this.welcomeMsg = opened.welcome;
    this.attach(opened.ws);
    this.state = 'open';
    let join: JoinResult | undefined;
    const room = this.wantedRoom;
    if (room !== undefined) {
      try {
        join = await this.rejoin(room);
      } catch (e) {
        const err = e instanceof RtcError ? e : new RtcError('RTC_ERR_SIGNAL_CONNECT', String(e));
        if (err.code === 'RTC_ERR_SIGNAL_CONNECT' || err.code === 'RTC_ERR_TIMEOUT') {
          // The new socket dropped during the re-join: onSocketClosed already scheduled the next attempt (or will).
          return;
        }
        // Refused for good (room taken, token changed): report it and stay connected without a room.
        this.wantedRoom = undefined;
        this.queue = [];
        this.emitError(err);
        if (err.code === 'RTC_ERR_SIGNAL_AUTH') return;
        this.emit('reconnected', undefined);
        return;
      }
      const queued = this.queue;
      this.queue = [];
      for (const t of queued) this.ws.send(t);
    }
    this.emit('reconnected', join);
  }

  /**
   * Join again after a reconnect. `full` and `server-busy` are retried for up to 2 heartbeat intervals + 2 s: our old
   * membership may still hold our place until the server notices the old connection is gone (its heartbeat, or a
   * shared store sweeping a dead instance, both within 2 intervals), and a server that lost its shared store says
   * `server-busy` until it is back.
   */
  private async rejoin(room: string): Promise<JoinResult> {
    const deadline = Date.now() + 2 * (this.welcomeMsg.heartbeatMs || 10_000) + 2000;
    const ws = this.ws;
    for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
      try {
        return await this.doJoin(room);
      } catch (e) {
        const busy = e instanceof RtcError && (e.code === 'RTC_ERR_ROOM_FULL' || (e.code === 'RTC_ERR_SIGNAL_REFUSED' && e.details?.code === 'server-busy'));
        if (!busy || Date.now() + delay > deadline) throw e;
      }
      await new Promise((r) => setTimeout(r, delay));
      if (this.state !== 'open' || this.ws !== ws) throw new RtcError('RTC_ERR_SIGNAL_CONNECT', 'the signaling connection dropped during the re-join');
    }
  }

  private shutdown(err: RtcError | undefined): Promise<void> {
    if (this.closedPromise) return this.closedPromise;
    const wasState = this.state;
    this.state = 'closed';
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.settle(err ?? new RtcError('RTC_ERR_SIGNAL_CONNECT', 'the signaling client was closed'));
    this.myRoom = undefined;
    this.wantedRoom = undefined;
    this.queue = [];
    const ws = this.ws;
    this.closedPromise = new Promise<void>((resolve) => {
      if (wasState !== 'open' || ws.readyState === WebSocket.CLOSED) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        ws.close(CLOSE_NORMAL, 'bye');
      } catch {
        ws.terminate();
      }
    }).then(() => {
      this.emit('closed', err);
    });
    return this.closedPromise;
  }
}
