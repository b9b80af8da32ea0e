/**
 * One client connection of the signaling server: its WebSocket, the rooms it is in, and the per-connection limits
 * (message rate, log budget, join deadline, read backlog, bytes held in an unfinished message). Messages of one
 * connection are handled one at a time, in order (`enqueue`), even when the room store answers asynchronously.
 */
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { encodeServerMessage, type ServerMessage, type SignalErrorCode } from './protocol.js';
import { LogBudget, MessageRateLimiter } from './limiter.js';
import { ReadTracker } from './backlog.js';
import { FrameMeter } from './frame-meter.js';
import type { ServerConfig, ServerEvent } from './options.js';
import type { ServerMetrics } from './metrics.js';

/** What a connection needs from its server: reporting, and counters shared by all connections. */
export interface ConnectionHost {
  readonly config: ServerConfig;
  report(e: ServerEvent): void;
  readonly counters: { messagesIn: number; messagesRelayed: number; bytesIn: number; errorsSent: number };
  readonly metrics: ServerMetrics;
  /** close() has begun: no more joins. */
  readonly draining: boolean;
}

/** Events that count against a connection's log budget: the ones a client can cause at message rate. */
type BudgetedEvent = Extract<ServerEvent, { event: 'join' | 'full' | 'leave' | 'refused' }>;

/** Tasks waiting on one connection, at most; beyond it a message is refused with `server-busy` (never dropped silently). */
const MAX_QUEUED = 256;

export function newPeerId(): string {
  // 72 random bits: unguessable, so a peer cannot address someone it was not told about.
  return randomBytes(9).toString('base64url');
}

export class Connection {
  readonly id = newPeerId();
  readonly rooms = new Set<string>();
  /** Token accepted on this connection (or none needed). */
  authed: boolean;
  /** A pong echoed our ping since the last heartbeat tick. */
  alive = true;
  /** Closed (or closing): nothing more is sent or handled. */
  closed = false;
  readonly rate: MessageRateLimiter;
  readonly reads: ReadTracker;
  readonly meter = new FrameMeter();
  private readonly logBudget: LogBudget;
  private joinTimer: NodeJS.Timeout | undefined;
  private readonly queue: (() => Promise<void>)[] = [];
  private running = false;

  constructor(
    readonly ws: WebSocket,
    readonly address: string,
    /** The per-address limits' key (addressKey(address)). */
    readonly addressKey: string,
    private readonly host: ConnectionHost,
    authRequired: boolean,
  ) {
    const c = host.config;
    this.authed = !authRequired;
    this.rate = new MessageRateLimiter(c.rateLimit);
    this.reads = new ReadTracker(c.maxBufferedBytes);
    this.logBudget = new LogBudget(c.logRate);
    this.joinTimer = setTimeout(() => this.joinTimedOut(), c.joinTimeoutMs);
    this.joinTimer.unref();
  }

  /** The first successful join lifts the join deadline for good (leaving later does not bring it back). */
  joined(room: string): void {
    this.rooms.add(room);
    if (this.joinTimer) clearTimeout(this.joinTimer);
    this.joinTimer = undefined;
  }

  private joinTimedOut(): void {
    this.joinTimer = undefined;
    if (this.closed || this.rooms.size > 0) return;
    this.host.report({ event: 'join-timeout', id: this.id });
    this.sendError('join-timeout', `no join within ${this.host.config.joinTimeoutMs / 1000} s of connecting; join a room right after welcome`);
    this.close(4408, 'join timeout');
  }

  /** Run `task` after every task queued before it on this connection. False if the queue is full (unless `force`). */
  enqueue(task: () => Promise<void>, onError: (e: unknown) => void, force = false): boolean {
    if (this.queue.length >= MAX_QUEUED && !force) return false;
    this.queue.push(task);
    if (!this.running) void this.drain(onError);
    return true;
  }

  private async drain(onError: (e: unknown) => void): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const task = this.queue.shift()!;
      try {
        await task();
      } catch (e) {
        onError(e);
      }
    }
    this.running = false;
  }

  /**
   * Send one serialised message, unless the peer's unread backlog is full: then cut it off (its rooms get peer-left).
   * False if it was not written (closed, or cut off now).
   */
  send(text: string): boolean {
    const ws = this.ws;
    if (this.closed || ws.readyState !== WebSocket.OPEN) return false;
    this.reads.wrote(Buffer.byteLength(text));
    if (this.reads.backlog() > this.host.config.maxBufferedBytes) {
      this.cutOff();
      return false;
    }
    ws.send(text);
    const nonce = this.reads.ping(false);
    if (nonce) ws.ping(nonce);
    return true;
  }

  sendMessage(m: ServerMessage): void {
    this.send(encodeServerMessage(m));
  }

  sendError(code: SignalErrorCode, message: string, ref?: string, room?: string): void {
    this.host.counters.errorsSent++;
    this.host.metrics.error(code);
    this.log(ref === undefined ? { event: 'refused', id: this.id, code } : { event: 'refused', id: this.id, code, ref });
    const m: ServerMessage = { type: 'error', code, message };
    if (ref !== undefined) m.ref = ref;
    if (room !== undefined) m.room = room;
    this.sendMessage(m);
  }

  /** Report an event a client can cause at message rate, within this connection's log budget. */
  log(e: BudgetedEvent): void {
    const suppressed = this.logBudget.admit();
    if (suppressed === undefined) return;
    this.host.report(suppressed > 0 ? { ...e, suppressed } : e);
  }

  /** Lines left out of the log that no later line carried yet (for the disconnect line). */
  takeSuppressed(): number {
    return this.logBudget.take();
  }

  /**
   * Heartbeat tick (RFC 6455 §5.5.2): 'silent' if the previous ping was not echoed (messages do not count: a peer that
   * sends but never reads would pass), 'backlog' if it has not read what was sent; otherwise ping again.
   */
  heartbeat(): 'ok' | 'silent' | 'backlog' {
    if (this.reads.backlog() > this.host.config.maxBufferedBytes) return 'backlog';
    if (!this.alive) return 'silent';
    this.alive = false;
    try {
      this.ws.ping(this.reads.ping(true));
    } catch {
      return 'silent';
    }
    return 'ok';
  }

  onPong(payload: Buffer): void {
    if (this.reads.pong(payload)) this.alive = true;
  }

  /** The peer does not read: rather than buffer without bound, drop it (its rooms get peer-left). */
  cutOff(): void {
    if (this.closed) return;
    this.host.metrics.drop('slow-consumer');
    this.host.report({ event: 'slow-consumer', id: this.id, bufferedBytes: this.reads.backlog() });
    this.terminate();
  }

  /** Close with a close frame (RFC 6455 §7.1.2); a client that does not answer within `graceMs` is cut off. */
  close(code: number, reason: string, graceMs = 2000): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.terminate();
      return;
    }
    setTimeout(() => this.ws.terminate(), graceMs).unref();
  }

  terminate(): void {
    this.closed = true;
    this.ws.terminate();
  }

  /** The socket is gone: stop the join deadline. */
  dispose(): void {
    this.closed = true;
    if (this.joinTimer) clearTimeout(this.joinTimer);
    this.joinTimer = undefined;
  }
}
