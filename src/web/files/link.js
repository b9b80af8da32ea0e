// One transfer session on the file channel (the CLI's counterpart is src/rtc/transfer/link.ts): what arrives, in
// order, in one queue; every reason the session cannot go on (the channel closed, the peer silent or stalling, a
// malformed message, the peer's own `error`) as one `failure` every wait races against; and backpressure on sending.
import { deliver } from '../lib/inbox.js';
import { decodeControl, encodeControl, PEER_CODES, printable, TransferError } from './protocol.js';

/** Nothing at all from the peer for this long: it is gone (recv-file's default --idle-timeout). */
export const IDLE_TIMEOUT_MS = 15_000;
/** Keep bufferedAmount under this while sending; resume under LOW_WATER (the `bufferedamountlow` event). */
export const HIGH_WATER = 1024 * 1024;
export const LOW_WATER = 256 * 1024;
const TICK_MS = 500;

/** The peer's own `error`: it stopped (so we do not answer in kind). */
export function remoteError(code, message) {
  const e = new TransferError(PEER_CODES.has(code) ? code : 'RTC_ERR_PROTOCOL', `the peer stopped the transfer: ${printable(message)}`);
  e.fromPeer = true;
  return e;
}

export class Link {
  /** @param {{dc: RTCDataChannel, send(data): void, lastRx(): number}} channel the FilePeer that owns the channel */
  constructor(channel) {
    this.channel = channel;
    this.queue = [];
    this.waiter = undefined;
    this.finished = false;
    this.error = undefined;
    this.failure = new Promise((_, reject) => (this.rejectFailure = reject));
    this.failure.catch(() => {});
    this.lastProgress = Date.now();
    this.waitingSince = undefined;
    /** Set by the receiver: while waiting, no progress (bytes, a step, a growing ping.work) for this long = stalled. */
    this.progressDeadlineMs = undefined;
    /** Whether a ping.work counts as progress toward what we wait for (the receiver sets it). */
    this.workCounts = () => false;
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** A message of this session (text or ArrayBuffer) from the channel. */
  receive(data) {
    if (typeof data !== 'string') {
      this.lastProgress = Date.now();
      this.push({ kind: 'data', data: new Uint8Array(data) });
      return;
    }
    let msg;
    try {
      msg = decodeControl(data);
    } catch (e) {
      this.fail(e);
      return;
    }
    if (msg.t === 'ping') {
      if (msg.work && this.workCounts(msg.work)) this.lastProgress = Date.now();
      return;
    }
    this.lastProgress = Date.now();
    // A fatal error from the peer stops us at once, even mid-stream.
    if (msg.t === 'error') this.fail(remoteError(msg.code, msg.message));
    this.push({ kind: 'control', msg });
  }

  tick() {
    const now = Date.now();
    if (now - this.channel.lastRx() > IDLE_TIMEOUT_MS) {
      this.gone(`nothing arrived from the peer for ${IDLE_TIMEOUT_MS / 1000} s`);
      return;
    }
    const limit = this.progressDeadlineMs;
    if (limit !== undefined && this.waitingSince !== undefined && now - Math.max(this.lastProgress, this.waitingSince) > limit && !this.finished) {
      this.fail(new TransferError('RTC_ERR_STALLED', `the peer kept the connection alive but sent no file data and took no step for ${limit / 1000} s`));
    }
  }

  push(m) {
    deliver(this, m);
  }

  gone(reason) {
    if (this.finished) return;
    this.fail(new TransferError('RTC_ERR_PEER_LEFT', `${reason} before the transfer was complete`));
  }

  fail(err) {
    if (this.error) return;
    this.error = err instanceof TransferError ? err : new TransferError('RTC_ERR_PROTOCOL', err?.message ?? String(err));
    this.rejectFailure(this.error);
  }

  /** The next message, in arrival order; rejects with the session's failure. */
  next() {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.error) return Promise.reject(this.error);
    this.waitingSince = Date.now();
    return Promise.race([new Promise((resolve) => (this.waiter = resolve)), this.failure]).finally(() => {
      this.waitingSince = undefined;
    });
  }

  /** The next control message; file bytes here, or the peer's `error`, end the session. */
  async nextControl() {
    const m = await this.next();
    if (m.kind !== 'control') throw new TransferError('RTC_ERR_PROTOCOL', 'the peer sent file data outside of a file');
    if (m.msg.t === 'error') throw remoteError(m.msg.code, m.msg.message);
    return m.msg;
  }

  send(msg) {
    this.channel.send(encodeControl(msg));
  }

  /** A last word on the way out, if the channel still takes it. */
  trySend(msg) {
    try {
      this.send(msg);
    } catch {
      /* channel gone */
    }
  }

  sendData(bytes) {
    this.channel.send(bytes);
  }

  /** Wait until `len` more bytes fit under HIGH_WATER (RTCDataChannel.bufferedAmount, `bufferedamountlow`). */
  async room(len) {
    const dc = this.channel.dc;
    while (dc.bufferedAmount + len > HIGH_WATER) {
      if (this.error) throw this.error;
      let done;
      const low = new Promise((resolve) => (done = resolve));
      dc.addEventListener('bufferedamountlow', done, { once: true });
      // The event may have fired between the check and the listener: a short poll catches that.
      const poll = setInterval(() => dc.bufferedAmount <= LOW_WATER && done(), 50);
      try {
        await Promise.race([low, this.failure]);
      } finally {
        dc.removeEventListener('bufferedamountlow', done);
        clearInterval(poll);
      }
    }
  }

  /** Wait (bounded) until everything we sent has left the send buffer. */
  async drained(timeoutMs) {
    const until = Date.now() + timeoutMs;
    const dc = this.channel.dc;
    while (dc.readyState === 'open' && dc.bufferedAmount > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  stop() {
    clearInterval(this.timer);
  }
}
