// A code session (docs/peer-auth.md): the page meets one peer in the room of a code's nameplate, proves with SPAKE2
// that both know the code, and then runs a file-only connection whose signaling is sealed. "Send with a code": the
// page makes the code (the creator; it answers) for whoever types it (`rtc-cli recv-file CODE`, or another page).
// "Receive with a code": the page types a code that `rtc-cli send-file` printed (the joiner; it offers). One attempt
// per code: any failure once the exchange began burns it.
import { SignalingClient } from '../signaling.js';
import { closeConn, handleSignal, makeOffer } from '../peers.js';
import { log } from '../ui.js';
import { generateCode, parseCode, randomNameplate, roomForNameplate } from './code.js';
import { creatorExchange, joinerExchange } from './exchange.js';
import { CodePipe } from './pipe.js';
import { AuthError, passwordScalar } from './spake2.js';

/** The creator waits this long for someone to type the code (send-file's default without --timeout). */
const CREATOR_WAIT_MS = 10 * 60_000;
/** From the first hello on: exchange and connection (send-file's default --timeout). */
const CONNECT_MS = 60_000;
/** Nameplates tried by the creator, short ones first (docs/peer-auth.md §Rooms). */
const NAMEPLATE_RANGES = [99, 99, 99, 99, 999, 999, 999, 999, 9999, 9999, 9999, 9999];

export class CodeSession {
  /** @param {{url: string, token?: string, status(text: string): void, onCode?(code: string): void}} o */
  constructor(o) {
    this.o = o;
    this.sig = null;
    this.pipe = null;
    this.conn = null;
    this.closing = false;
    this.connected = new Promise((resolve) => (this.onConnected = resolve));
    // How this session's connection signals (peers.js): sealed through the pipe.
    this.route = {
      kind: 'code',
      send: (payload) => this.pipe?.send(payload),
      onCreated: (c) => (this.conn = c),
      onConnected: (c) => {
        // docs/peer-auth.md §DTLS binding: a browser cannot read its DTLS exporter; it says so and relies on its own
        // verification of the DTLS handshake's signatures.
        this.pipe.send({ kind: 'dtls-binding', exporters: null });
        this.onConnected(c);
      },
      onClosed: () => this.closing || this.pipe?.fail(new Error('the connection was closed')),
    };
  }

  /** "Send with a code": make a code, wait for its joiner, authenticate, connect. Resolves with the connection. */
  async create(words = 2) {
    const nameplate = await this.claimNameplate();
    const code = generateCode(nameplate, words);
    const w = passwordScalar(code.code);
    w.catch(() => {});
    this.code = code.code;
    this.o.onCode?.(code.code);
    this.o.status(`waiting for the receiver to type the code (up to ${CREATOR_WAIT_MS / 60_000} minutes)`);
    const hello = await this.pipe.next(['auth-hello'], Date.now() + CREATOR_WAIT_MS, 'nobody typed the code');
    this.meet(hello.from);
    this.o.status(`${hello.from} is trying the code: authenticating`);
    const channel = await this.race(creatorExchange(this.pipe, await this.race(w), hello.msg));
    this.pipe.seal(channel);
    this.o.status('authenticated (the peer knows the code); connecting');
    // The joiner offers (docs/peer-signaling.md §Who offers); handleSignal answers it with a file-only connection.
    return this.race(this.connected, 'the peer did not connect');
  }

  /** "Receive with a code": check the typed code, meet its creator, authenticate, offer. Resolves with the connection. */
  async join(text) {
    const code = parseCode(text); // a typo throws here, before anything is sent
    const w = passwordScalar(code.code);
    w.catch(() => {});
    this.code = code.code;
    const j = await this.open(roomForNameplate(code.nameplate), () => this.busy(code.nameplate));
    if (j.peers.length === 0) {
      throw new AuthError(`nobody is waiting under nameplate ${code.nameplate}: the sender stopped, the code is mistyped, or it was already used (a code allows one attempt); ask the sender for a new code`);
    }
    if (j.peers.length > 1) throw this.busy(code.nameplate);
    this.meet(j.peers[0]);
    this.o.status(`authenticating with ${j.peers[0]}`);
    const channel = await this.race(joinerExchange(this.pipe, await this.race(w)));
    this.pipe.seal(channel);
    this.o.status('authenticated (the peer made this code); connecting');
    await this.race(makeOffer(j.peers[0], this.route, { media: false }));
    return this.race(this.connected, 'the peer did not connect');
  }

  busy(nameplate) {
    return new AuthError(
      `someone else is already talking to the sender under nameplate ${nameplate} (if it is not you, the code may have been guessed; the sender stops after one wrong attempt); ask the sender for a new code`,
    );
  }

  /** The peer is known: ignore everyone else, give the rest CONNECT_MS, and stop when it leaves. */
  meet(id) {
    this.pipe.lock(id);
    this.pipe.deadline = Date.now() + CONNECT_MS;
    this.sig.addEventListener('peer-left', (ev) => {
      if (ev.detail.id === id) this.pipe.fail(new Error('the peer left'));
    });
  }

  /** Join `room` on a fresh signaling connection; `full()` is the error for a full room. */
  async open(room, full) {
    const sig = new SignalingClient(this.o.url);
    this.sig = sig;
    const pipe = new CodePipe(sig, (from, payload) => this.onPayload(from, payload));
    this.pipe = pipe;
    sig.addEventListener('server-error', (ev) => pipe.fail(new Error(`the signaling server said: ${ev.detail.message} [${ev.detail.code}]`)));
    sig.addEventListener('closed', () => pipe.fail(new Error('the signaling server closed the connection')));
    try {
      return await sig.join(room, this.o.token);
    } catch (e) {
      sig.close();
      throw e.message.includes(' is full ') ? full() : e;
    }
  }

  /** The first free nameplate room (docs/peer-auth.md §Rooms): a room that holds anyone, even silent, is skipped. */
  async claimNameplate() {
    const taken = new Error('taken');
    for (const max of NAMEPLATE_RANGES) {
      const nameplate = randomNameplate(max);
      try {
        if ((await this.open(roomForNameplate(nameplate), () => taken)).peers.length === 0) return nameplate;
      } catch (e) {
        if (e !== taken) throw e;
        continue;
      }
      this.sig.close();
    }
    throw new Error(`no free nameplate on the signaling server after ${NAMEPLATE_RANGES.length} tries; try again later`);
  }

  /** An opened sealed payload, in order. */
  async onPayload(from, payload) {
    if (payload.kind === 'dtls-binding') return; // the CLI's exporters: a browser has none of its own to compare
    if (payload.kind === 'bye') this.pipe.fail(new Error('the peer hung up'));
    await handleSignal(this.route, from, payload, { media: false });
  }

  /** `p`, unless the session fails first or, with `what`, the exchange deadline passes. */
  race(p, what) {
    const waits = [p, this.pipe.failure];
    let timer;
    if (what) waits.push(new Promise((_, reject) => (timer = setTimeout(() => reject(new AuthError(`${what} within ${CONNECT_MS / 1000} s`)), Math.max(0, this.pipe.deadline - Date.now())))));
    return Promise.race(waits).finally(() => clearTimeout(timer));
  }

  /** Hang up: a sealed bye, the connection, the room. Idempotent. */
  close() {
    if (this.closing) return;
    this.closing = true;
    if (this.pipe?.channel && !this.pipe.error) this.pipe.send({ kind: 'bye' });
    if (this.conn) closeConn(this.conn);
    const sig = this.sig;
    // Let the sealed bye leave before the socket closes (sealing is asynchronous).
    setTimeout(() => sig?.close(), 300);
    log(`code session ${this.code ? `(nameplate ${this.code.split('-')[0]}) ` : ''}closed`);
  }
}
