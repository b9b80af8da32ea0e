/**
 * The link: everything that arrives on the transfer channel in one ordered queue, the reasons the transfer cannot go
 * on (peer gone, silent, stalled, interrupted, a malformed message) as one `failure` promise every wait races against,
 * keepalive pings, and backpressure on the send buffer.
 */
import { ERROR_CODES, interruptError, RtcError, toRtcError, type RtcErrorCode } from '../../errors.js';
import { deferred } from '../deferred.js';
import { decodeControl, encodeControl, type ControlMessage, type Work } from '../file-transfer-protocol.js';
import type { PeerSession } from '../peer.js';
import type { FileChannel } from './channel.js';
import { printable } from './names.js';

/** How long a signaling peer-left waits for a reason still in flight on the data channel. */
const PEER_LEFT_GRACE_MS = 750;
/** Send a ping when we have sent nothing for this long, so an idle peer is not mistaken for a dead one. */
const PING_INTERVAL_MS = 2_000;
const TICK_MS = 500;

export type Incoming = { kind: 'control'; msg: ControlMessage } | { kind: 'data'; data: Buffer };

export interface LinkOptions {
  /** Nothing at all from the peer for this long: it is gone (RTC_ERR_PEER_LEFT). */
  idleTimeoutMs: number;
  abort?: AbortSignal;
}

/** The peer's failure code if it is one of ours meaning "failed" (exit 1); anything else is a protocol breach. */
export function peerFailureCode(code: string): RtcErrorCode {
  return Object.hasOwn(ERROR_CODES, code) && ERROR_CODES[code as RtcErrorCode].exit === 1 ? (code as RtcErrorCode) : 'RTC_ERR_PROTOCOL';
}

export function remoteError(code: string, message: string): RtcError {
  return new RtcError(peerFailureCode(code), `the peer stopped the transfer: ${printable(message)}`);
}

export class Link {
  private queue: Incoming[] = [];
  private waiter: ((m: Incoming) => void) | undefined;
  private readonly failed = deferred<never>();
  readonly failure: Promise<never> = this.failed.promise;
  private failReason: RtcError | undefined;
  private lastRx = Date.now();
  private lastTx = Date.now();
  private lastProgress = Date.now();
  /** Set while next() waits for the peer: our own slow work (disk, hashing) never counts against it. */
  private waitingSince: number | undefined;
  private readonly timer: NodeJS.Timeout;
  /** Set when the protocol is complete: closing after this is not an error. */
  finished = false;
  /**
   * Set (by the receiver) to enforce a progress deadline: while we wait for the peer, no progress from it (file bytes,
   * a protocol step, or a `ping.work` that `workCounts` accepts) for this long means it is stalling (RTC_ERR_STALLED).
   * Pings alone do not count. Unset: not enforced.
   */
  progressDeadlineMs: number | undefined;
  /** Whether a `ping.work` is progress toward what we wait for (the receiver sets it; default: never). */
  workCounts: (w: Work) => boolean = () => false;

  constructor(
    private readonly channel: FileChannel,
    session: PeerSession,
    private readonly o: LinkOptions,
  ) {
    this.failure.catch(() => {});
    channel.onMessage((m) => this.receive(m));
    channel.onState((s) => {
      if (s === 'closing' || s === 'closed') this.gone('the peer closed the transfer channel');
    });
    // The peer's last message on the channel (an error saying *why* it stopped) travels over SCTP, its bye over the
    // signaling server: under load the bye can arrive first. Give the channel a moment so the reason wins; a close of
    // the channel itself is ordered after that message (same SCTP stream) and needs no grace.
    void session.peerLeft.then(() => {
      setTimeout(() => this.gone(session.leftReason ?? 'the peer left'), PEER_LEFT_GRACE_MS).unref();
    });
    const onAbort = (): void => this.fail(interruptError(o.abort?.reason));
    if (o.abort?.aborted) onAbort();
    o.abort?.addEventListener('abort', onAbort, { once: true });
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  private receive(m: string | Buffer): void {
    this.lastRx = Date.now();
    if (typeof m !== 'string') {
      this.lastProgress = this.lastRx;
      this.push({ kind: 'data', data: m });
      return;
    }
    let msg: ControlMessage;
    try {
      msg = decodeControl(m);
    } catch (e) {
      this.fail(toRtcError(e));
      return;
    }
    if (msg.t === 'ping') {
      if (msg.work && this.workCounts(msg.work)) this.lastProgress = this.lastRx;
      return;
    }
    this.lastProgress = this.lastRx;
    // A fatal error from the peer stops us at once, even mid-stream (the sender reads no replies while sending).
    if (msg.t === 'error') this.fail(remoteError(msg.code, msg.message));
    this.push({ kind: 'control', msg });
  }

  private tick(): void {
    const now = Date.now();
    if (now - this.lastRx > this.o.idleTimeoutMs) {
      this.gone(`nothing arrived from the peer for ${Math.round(this.o.idleTimeoutMs / 1000)} s`);
      return;
    }
    const limit = this.progressDeadlineMs;
    if (limit !== undefined && this.waitingSince !== undefined && now - Math.max(this.lastProgress, this.waitingSince) > limit) {
      this.stalled(limit);
      return;
    }
    if (now - this.lastTx >= PING_INTERVAL_MS && this.channel.readyState === 'open' && this.channel.bufferedAmount < this.channel.lowWater) {
      this.sendControl({ t: 'ping' });
    }
  }

  private push(m: Incoming): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(m);
    } else this.queue.push(m);
  }

  gone(reason: string): void {
    if (this.finished) return;
    this.fail(new RtcError('RTC_ERR_PEER_LEFT', `${reason} before the transfer was complete`, {
      hint: 'run the same commands again: the receiver resumes from its verified partial file',
    }));
  }

  private stalled(limitMs: number): void {
    if (this.finished) return;
    this.fail(new RtcError('RTC_ERR_STALLED', `the peer kept the connection alive but sent no file data and took no step for ${Math.round(limitMs / 1000)} s`, {
      hint: 'a sender reading a slow pipe may need a longer --idle-timeout here; otherwise it is stuck or hostile',
    }));
  }

  fail(err: RtcError): void {
    if (this.failReason) return;
    this.failReason = err;
    this.failed.reject(err);
  }

  get error(): RtcError | undefined {
    return this.failReason;
  }

  /** The next message, in arrival order. */
  next(): Promise<Incoming> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    const d = deferred<Incoming>();
    this.waiter = d.resolve;
    this.waitingSince = Date.now();
    return Promise.race([d.promise, this.failure]).finally(() => {
      this.waitingSince = undefined;
    });
  }

  /**
   * File bytes that already arrived right behind the message just taken, up to `maxBytes` (at least one message when
   * the next one is data): the receiver writes them with one system call instead of one per chunk.
   */
  takeQueuedData(maxBytes: number): Buffer[] {
    const out: Buffer[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && this.queue[0]!.kind === 'data') {
      const m = this.queue[0] as { kind: 'data'; data: Buffer };
      if (out.length > 0 && bytes + m.data.length > maxBytes) break;
      this.queue.shift();
      out.push(m.data);
      bytes += m.data.length;
    }
    return out;
  }

  async nextControl(): Promise<ControlMessage> {
    const m = await this.next();
    if (m.kind !== 'control') throw new RtcError('RTC_ERR_PROTOCOL', 'the peer sent file data outside of a file');
    if (m.msg.t === 'error') throw remoteError(m.msg.code, m.msg.message);
    return m.msg;
  }

  sendControl(msg: ControlMessage): void {
    this.lastTx = Date.now();
    this.channel.send(encodeControl(msg));
  }

  /** Send a control message if the channel still takes it (a last word on the way out). */
  trySendControl(msg: ControlMessage): void {
    try {
      this.sendControl(msg);
    } catch {
      /* channel gone */
    }
  }

  sendData(buf: Buffer): void {
    this.lastTx = Date.now();
    this.channel.send(buf);
  }

  /** Whether a Buffer handed to sendData may be reused once it returns (FileChannel.copiesOnSend). */
  get copiesOnSend(): boolean {
    return this.channel.copiesOnSend;
  }

  /** Whether `len` more bytes fit under the engine's high-water mark right now. */
  hasRoom(len: number): boolean {
    return this.channel.bufferedAmount + len <= this.channel.highWater;
  }

  /** Wait until bufferedAmount leaves room for `len` more bytes under the high-water mark. */
  async room(len: number): Promise<void> {
    while (!this.hasRoom(len)) {
      const d = deferred<void>();
      const unsubscribe = this.channel.onBufferedLow(() => d.resolve());
      // Belt and braces: if the low event fired between our check and the subscription, a short poll catches it.
      const poll = setInterval(() => {
        if (this.channel.bufferedAmount <= this.channel.lowWater) d.resolve();
      }, 50);
      try {
        await Promise.race([d.promise, this.failure]);
      } finally {
        unsubscribe();
        clearInterval(poll);
      }
    }
  }

  /** Wait (bounded) until everything we sent has left the SCTP send buffer. */
  async drained(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.channel.readyState === 'open' && this.channel.bufferedAmount > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
