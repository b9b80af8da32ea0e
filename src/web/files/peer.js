// The file channel of one connection: the negotiated data channel `rtc-cli-file` (id 1, docs/peer-signaling.md §Data
// channels) and whatever session runs on it. The page receives when the other side says `hello` (send-file, or
// another page) and sends when the user asks; one session at a time. Keepalive pings go out after 2 s of silence,
// as the CLI does, so a peer never mistakes a quiet page for a dead one.
import { state } from '../state.js';
import { log } from '../ui.js';
import { Link, LOW_WATER } from './link.js';
import { decodeControl, FILE_CHANNEL, printable, TransferError } from './protocol.js';
import { receiveSession } from './receiver.js';
import { sendSession } from './sender.js';

const PING_AFTER_MS = 2_000;
/**
 * Before saying `hello`, wait until the receiver has said something (its keepalive; recv-file pings after 2 s of
 * silence, the page after 2 s too) for at most this long: recv-file starts reading the channel only once its
 * connection is set up, and a `hello` that arrives before that is lost.
 */
const READY_WAIT_MS = 5_000;

/** Listeners for changes the Files section shows (a channel opened or closed, a session started or ended). */
const listeners = new Set();
export const onFilesChange = (fn) => listeners.add(fn);
const changed = () => listeners.forEach((fn) => fn());

export function attachFiles(c) {
  const dc = c.pc.createDataChannel(FILE_CHANNEL.label, { negotiated: true, id: FILE_CHANNEL.id, ordered: true });
  c.files = new FilePeer(c, dc);
}

export class FilePeer {
  constructor(conn, dc) {
    this.conn = conn;
    this.dc = dc;
    dc.binaryType = 'arraybuffer';
    dc.bufferedAmountLowThreshold = LOW_WATER;
    this.rx = Date.now();
    this.tx = Date.now();
    this.heard = false;
    this.heardWaiters = [];
    this.session = null;
    /** The running session's promise (resolves with the session when it ends), and how many have started. */
    this.running = null;
    this.started = 0;
    this.closed = false;
    dc.onopen = () => {
      this.rx = Date.now();
      log(`file channel with ${conn.id} open`);
      changed();
    };
    dc.onclose = () => {
      this.session?.link.gone('the peer closed the transfer channel');
      changed();
    };
    dc.onmessage = (e) => this.onMessage(e.data);
    this.pinger = setInterval(() => this.keepalive(), 500);
  }

  get open() {
    return this.dc.readyState === 'open' && !this.closed;
  }

  get busy() {
    return this.session !== null;
  }

  lastRx() {
    return this.rx;
  }

  send(data) {
    this.tx = Date.now();
    this.dc.send(data);
  }

  keepalive() {
    if (this.open && Date.now() - this.tx >= PING_AFTER_MS && this.dc.bufferedAmount < LOW_WATER) {
      try {
        this.send('{"t":"ping"}');
      } catch {
        /* closing */
      }
    }
  }

  onMessage(data) {
    this.rx = Date.now();
    if (!this.heard) {
      this.heard = true;
      for (const w of this.heardWaiters.splice(0)) w();
    }
    if (this.session) {
      this.session.link.receive(data);
      return;
    }
    if (typeof data !== 'string') return; // bytes outside a session: nothing to do with them
    let msg;
    try {
      msg = decodeControl(data);
    } catch (e) {
      log(`ignored a message from ${this.conn.id} on the file channel: ${e.message}`);
      return;
    }
    if (msg.t === 'hello') void this.run('recv', (link) => receiveSession(link, msg, this.conn.id));
    else if (msg.t !== 'ping') log(`ignored "${msg.t}" from ${this.conn.id}: no transfer is running`);
  }

  /** Resolves when the channel is open; rejects after `ms`. */
  whenOpen(ms) {
    const until = Date.now() + ms;
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.open) resolve();
        else if (this.closed || this.dc.readyState === 'closed' || Date.now() > until) reject(new TransferError('RTC_ERR_ICE_FAILED', `the file channel did not open within ${ms / 1000} s`));
        else setTimeout(check, 50);
      };
      check();
    });
  }

  /** Resolves when the peer has said anything on the channel, or after `ms`. */
  whenHeard(ms) {
    if (this.heard) return Promise.resolve();
    return new Promise((resolve) => {
      this.heardWaiters.push(resolve);
      setTimeout(resolve, ms);
    });
  }

  /** Send the picked files (Outgoing) to this peer. Resolves with the outcome; never throws (the entries say why). */
  async sendFiles(items) {
    if (this.session) throw new TransferError('RTC_ERR_PROTOCOL', `a transfer with ${this.conn.id} is already running`);
    return this.run('send', async (link) => {
      await Promise.race([this.whenHeard(READY_WAIT_MS), link.failure]);
      return sendSession(link, items, this.conn.id, (ms) => this.hungUp(ms));
    });
  }

  /** Resolves when the peer is gone (channel or connection closed), or after `ms`. */
  hungUp(ms) {
    const until = Date.now() + ms;
    return new Promise((resolve) => {
      const check = setInterval(() => {
        if (this.dc.readyState === 'open' && !this.closed && Date.now() < until) return;
        clearInterval(check);
        resolve();
      }, 100);
    });
  }

  run(kind, body) {
    this.started++;
    this.running = this.runSession(kind, body);
    return this.running;
  }

  async runSession(kind, body) {
    const link = new Link(this);
    const session = { kind, peer: this.conn.id, link, result: undefined };
    this.session = session;
    state.files.sessions.push(session);
    changed();
    try {
      session.result = await body(link);
      session.status = 'done';
    } catch (e) {
      const err = e instanceof TransferError ? e : new TransferError('RTC_ERR_PROTOCOL', e?.message ?? String(e));
      session.status = 'failed';
      session.error = { code: err.code, message: err.message };
      // Tell the peer why, unless it was the peer that stopped (a peer that left hears nothing anyway).
      if (!err.fromPeer && err.code !== 'RTC_ERR_PEER_LEFT') link.trySend({ t: 'error', code: err.code, message: err.message.slice(0, 900) });
      log(`file transfer with ${this.conn.id} failed: ${printable(err.message)} [${err.code}]`);
    } finally {
      await link.drained(1_000);
      link.finished = true;
      link.stop();
      this.session = null;
      changed();
      this.onSessionEnd?.(session);
    }
    return session;
  }

  close(reason) {
    this.closed = true;
    this.session?.link.gone(reason);
    clearInterval(this.pinger);
  }
}
