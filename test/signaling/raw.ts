/**
 * A raw protocol-level WebSocket client for the signaling tests: it sends exactly what a test says (including garbage)
 * and lets the test wait for the next server message that matches, with a bounded wait.
 */
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { startSignalingServer, type SignalingServer, type SignalingServerOptions } from '../../src/signaling/server.js';

export type Msg = Record<string, unknown> & { type: string };

export class Raw {
  readonly ws: WebSocket;
  readonly received: Msg[] = [];
  private waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  closed?: { code: number; reason: string };
  private closeWaiters: ((c: { code: number; reason: string }) => void)[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) throw new Error('server sent a binary frame');
      const m = JSON.parse(data.toString()) as Msg;
      const i = this.waiters.findIndex((w) => w.pred(m));
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        w.resolve(m);
      } else {
        this.received.push(m);
      }
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.closeWaiters.splice(0)) w(this.closed);
    });
    ws.on('error', () => {});
  }

  /** Connect and consume the welcome message (returned). */
  static async open(url: string, opts: WebSocket.ClientOptions = {}): Promise<{ raw: Raw; welcome: Msg }> {
    const ws = new WebSocket(url, opts);
    const raw = new Raw(ws);
    const welcome = await raw.next('welcome');
    return { raw, welcome };
  }

  /** Connect and join `room`; returns the joined message. */
  static async joined(url: string, room: string, extra: Record<string, unknown> = {}): Promise<{ raw: Raw; joined: Msg }> {
    const { raw } = await Raw.open(url);
    raw.send({ type: 'join', room, ...extra });
    const joined = await raw.next('joined');
    return { raw, joined };
  }

  send(obj: unknown): void {
    this.ws.send(JSON.stringify(obj));
  }

  sendText(text: string | Buffer, binary = false): void {
    this.ws.send(text, { binary });
  }

  /** The next message (already received or future) with this type / predicate. */
  next(type: string | ((m: Msg) => boolean), timeoutMs = 10_000): Promise<Msg> {
    const pred = typeof type === 'string' ? (m: Msg) => m.type === type : type;
    const i = this.received.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.received.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (m: Msg) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no "${typeof type === 'string' ? type : 'matching'}" message within ${timeoutMs} ms; got ${JSON.stringify(this.received)}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** An error reply with this code. */
  error(code: string, timeoutMs = 10_000): Promise<Msg> {
    return this.next((m) => m.type === 'error' && m.code === code, timeoutMs);
  }

  /** Resolve once the socket is closed (by either side). */
  waitClose(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket not closed within ${timeoutMs} ms`)), timeoutMs);
      this.closeWaiters.push((c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
  }

  /** Give the server a moment and assert nothing matching arrived (used for isolation checks, after a barrier). */
  drain(): Msg[] {
    return this.received.splice(0);
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** A round trip to the server proves every message sent before it on this socket was processed. */
export async function barrier(raw: Raw): Promise<void> {
  raw.send({ type: 'ping' });
  await raw.next('pong');
}

/**
 * Servers and sockets for one test file, all closed after each test: call once at the top of the file (it registers
 * the afterEach hook). Servers listen on port 0 and serve no page unless `webRoot` is given.
 */
export function signalingHarness(): {
  cleanup: (() => Promise<unknown> | void)[];
  server(opts?: SignalingServerOptions): Promise<SignalingServer>;
  open(s: SignalingServer, opts?: WebSocket.ClientOptions): Promise<Raw>;
  joined(s: SignalingServer, room: string, opts?: WebSocket.ClientOptions): Promise<{ raw: Raw; id: string }>;
} {
  const cleanup: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });
  const open = async (s: SignalingServer, opts: WebSocket.ClientOptions = {}): Promise<Raw> => {
    const { raw } = await Raw.open(s.signalUrl, opts);
    cleanup.push(() => raw.terminate());
    return raw;
  };
  return {
    cleanup,
    async server(opts = {}) {
      const s = await startSignalingServer({ port: 0, webRoot: null, ...opts });
      cleanup.push(() => s.close());
      return s;
    },
    open,
    async joined(s, room, opts = {}) {
      const raw = await open(s, opts);
      raw.send({ type: 'join', room });
      const j = await raw.next('joined');
      return { raw, id: j.id as string };
    },
  };
}
