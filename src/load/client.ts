/**
 * One load-generator client on a bare net/tls socket: the HTTP upgrade by hand (RFC 6455 §4.1), the join handshake of
 * a LoadProtocol, then pre-built relay frames with the send time patched in; on receive, the time is found with
 * indexOf instead of JSON.parse. Pings are answered with their payload (§5.5.3: rtc-cli serve checks the echo).
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { FrameReader, maskedFrame, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, StampedFrame } from './frames.js';

/** How a signaling server is spoken to. rtc-cli's protocol is RTC_PROTOCOL; the benchmark adds socket.io's. */
export interface LoadProtocol {
  /** The request path (with query) for the upgrade, given the URL's. */
  path(urlPath: string): string;
  /**
   * A text frame during the join handshake: what to send, whether joined now, or the error that ends this client
   * (e.g. `full`, or the server's error code).
   */
  handshake(text: string, room: string, token: string | undefined): { send?: string; joined?: boolean; error?: string };
  /** The relay frame text with `data` (a JSON object text) in it. */
  relay(room: string, data: string): string;
  /** A server text frame after joining that needs an answer (Engine.IO's ping "2"); the answer text. */
  answer?(text: string): string | undefined;
  /** The error code of a server error frame after joining, if it is one. */
  errorCode(text: string): string | undefined;
}

export const RTC_PROTOCOL: LoadProtocol = {
  path: (p) => p,
  handshake(text, room, token) {
    if (text.includes('"type":"welcome"')) return { send: JSON.stringify(token === undefined ? { type: 'join', room } : { type: 'join', room, token }) };
    if (text.includes('"type":"joined"')) return { joined: true };
    if (text.includes('"type":"full"')) return { error: 'full' };
    if (text.includes('"type":"error"')) return { error: errorCodeOf(text) ?? 'error' };
    return {};
  },
  relay: (_room, data) => `{"type":"relay","data":${data}}`,
  errorCode: (text) => (text.includes('"type":"error"') ? (errorCodeOf(text) ?? 'error') : undefined),
};

function errorCodeOf(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code;
    return typeof code === 'string' ? code.slice(0, 64) : undefined;
  } catch {
    return undefined;
  }
}

/** The send time in µs (performance clock), fixed width so it can be patched into a pre-built frame. */
export const TS_DIGITS = 13;
const TS_MARK = Buffer.from('"t":"');
const TS_PLACEHOLDER = '0'.repeat(TS_DIGITS);

export interface ClientSink {
  /** A relay arrived: its send time and now (µs). */
  latency(sentUs: number, nowUs: number, client: LoadClient): void;
  error(code: string): void;
}

export const nowUs = (): number => Math.round(performance.now() * 1000);

export class LoadClient {
  private sock: Socket | undefined;
  private reader: FrameReader;
  private upgraded = false;
  private head: Buffer = Buffer.alloc(0);
  private frame: StampedFrame | undefined;
  private onJoined: ((err?: Error) => void) | undefined;
  joined = false;
  closed = false;
  /** ms from connect to joined. */
  joinMs = 0;

  constructor(
    readonly index: number,
    private readonly url: URL,
    readonly room: string,
    private readonly proto: LoadProtocol,
    private readonly sink: ClientSink,
    private readonly token: string | undefined,
    private readonly payloadPad: string,
  ) {
    this.reader = new FrameReader((op, b, s, e) => this.onFrame(op, b, s, e));
  }

  /** Connect, upgrade, join. Rejects with the reason (server error code, refused upgrade, timeout). */
  start(timeoutMs: number): Promise<void> {
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error('timeout')), timeoutMs);
      const finish = (err?: Error): void => {
        if (!this.onJoined) return;
        this.onJoined = undefined;
        clearTimeout(timer);
        if (err) {
          this.destroy();
          reject(err);
        } else {
          this.joinMs = performance.now() - t0;
          resolve();
        }
      };
      this.onJoined = finish;
      const tls = this.url.protocol === 'wss:';
      const port = Number(this.url.port || (tls ? 443 : 80));
      const host = this.url.hostname.replace(/^\[|\]$/g, '');
      const sock = tls ? tlsConnect({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host }) : tcpConnect(port, host);
      this.sock = sock;
      sock.setNoDelay(true);
      sock.on('error', (e: NodeJS.ErrnoException) => finish(new Error(e.code ?? e.message)));
      sock.on('close', () => {
        this.closed = true;
        finish(new Error('closed'));
      });
      sock.once(tls ? 'secureConnect' : 'connect', () => {
        const path = this.proto.path(`${this.url.pathname}${this.url.search}`);
        sock.write(
          `GET ${path} HTTP/1.1\r\nHost: ${this.url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      sock.on('data', (d: Buffer) => this.onData(d));
    });
  }

  /** One relay, stamped with the current time. Returns the stamp (µs), or -1 when the socket is gone. */
  send(): number {
    if (this.closed || !this.frame || !this.sock) return -1;
    const ts = nowUs();
    this.sock.write(this.frame.stamp(String(ts).padStart(TS_DIGITS, '0')));
    return ts;
  }

  /** Bytes waiting in this socket's user-space buffer (the server is not reading fast enough). */
  get backlog(): number {
    return this.sock?.writableLength ?? 0;
  }

  destroy(): void {
    this.closed = true;
    this.sock?.destroy();
  }

  private onData(d: Buffer): void {
    if (this.upgraded) return this.reader.push(d);
    this.head = this.head.length ? Buffer.concat([this.head, d]) : d;
    const end = this.head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.head.length > 16 * 1024) this.onJoined?.(new Error('upgrade: no end of headers'));
      return;
    }
    const status = this.head.subarray(0, this.head.indexOf('\r\n')).toString('latin1');
    if (!status.startsWith('HTTP/1.1 101')) return this.onJoined?.(new Error(`upgrade refused: ${status.slice(0, 64)}`));
    this.upgraded = true;
    const rest = this.head.subarray(end + 4);
    this.head = Buffer.alloc(0);
    if (rest.length) this.reader.push(rest);
  }

  private sendText(text: string): void {
    this.sock?.write(maskedFrame(Buffer.from(text)).frame);
  }

  private onFrame(op: number, b: Buffer, start: number, end: number): void {
    if (op === OP_PING) {
      this.sock?.write(maskedFrame(Buffer.from(b.subarray(start, end)), OP_PONG).frame);
      return;
    }
    if (op === OP_CLOSE) {
      this.destroy();
      return;
    }
    if (op !== OP_TEXT) return;
    if (this.joined) {
      const at = b.indexOf(TS_MARK, start);
      if (at >= 0 && at < end) {
        const ts = Number(b.toString('latin1', at + TS_MARK.length, at + TS_MARK.length + TS_DIGITS));
        this.sink.latency(ts, nowUs(), this);
        return;
      }
      const text = b.toString('utf8', start, end);
      const reply = this.proto.answer?.(text);
      if (reply !== undefined) return this.sendText(reply);
      const code = this.proto.errorCode(text);
      if (code !== undefined) this.sink.error(code);
      return;
    }
    const text = b.toString('utf8', start, end);
    const reply = this.proto.answer?.(text);
    if (reply !== undefined) return this.sendText(reply);
    const step = this.proto.handshake(text, this.room, this.token);
    if (step.send !== undefined) this.sendText(step.send);
    if (step.error !== undefined) return this.onJoined?.(new Error(step.error));
    if (step.joined) {
      this.joined = true;
      this.frame = new StampedFrame(this.proto.relay(this.room, `{"t":"${TS_PLACEHOLDER}","p":"${this.payloadPad}"}`), TS_PLACEHOLDER);
      this.onJoined?.();
    }
  }
}
