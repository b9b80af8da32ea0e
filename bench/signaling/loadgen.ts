/**
 * A minimal WebSocket load generator on net.Socket, the same for both servers so the comparison measures the servers,
 * not two different client stacks (see /work/shared/notes/bench.md: with the npm `ws` client the generator saturates
 * first). Each client does the HTTP upgrade by hand, then writes pre-built frames masked with a non-zero key (as
 * browsers do; ws skips unmasking for an all-zero mask, which would flatter our server) into which only the send
 * timestamp is patched, and finds the timestamp in received frames with indexOf instead of JSON.parse.
 *
 * Protocols: "ours" = rtc-cli signaling v1 (join / relay); "socketio" = Engine.IO v4 + Socket.IO v5 over WebSocket
 * (the packets socket.io-client would send: 40, 42["join",room], 42["message",room,data]; pong 3 for ping 2).
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export type Proto = 'ours' | 'socketio';

const TS_DIGITS = 12;
const TS_PLACEHOLDER = '0'.repeat(TS_DIGITS);
const TS_MARK = Buffer.from('"t":"');
const PAD = 'x'.repeat(120);

function mask4(): Buffer {
  let m = randomBytes(4);
  while (m.readUInt32BE(0) === 0) m = randomBytes(4);
  return m;
}

/** A masked client frame (RFC 6455 §5.2/§5.3). */
function maskedFrame(payload: Buffer, opcode = 0x1): { frame: Buffer; mask: Buffer; payloadOffset: number } {
  const len = payload.length;
  const header = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  if (len > 0xffff) throw new Error('frame too long for this generator');
  const mask = mask4();
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = payload[i] ^ mask[i & 3];
  return { frame: Buffer.concat([header, mask, masked]), mask, payloadOffset: header.length + 4 };
}

export interface LatencySink {
  (sentAtUs: number, nowUs: number): void;
}

const nowUs = (): number => Math.round(performance.now() * 1000);

export class BenchClient {
  sock!: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private upgraded = false;
  private frame!: Buffer;
  private tsOffset = 0;
  private payloadOffset = 0;
  private mask!: Buffer;
  private readonly pong = maskedFrame(Buffer.alloc(0), 0xa).frame;
  private waiters: ((text: string) => boolean)[] = [];
  joined = false;
  closed = false;
  received = 0;

  constructor(
    readonly proto: Proto,
    readonly port: number,
    readonly room: string,
    private readonly onLatency: LatencySink,
  ) {}

  /** Connect, upgrade, join. Resolves when joined. */
  start(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.sock?.destroy();
        reject(new Error(`client for ${this.room} not joined within ${timeoutMs} ms`));
      }, timeoutMs);
      const fail = (e: Error): void => {
        clearTimeout(timer);
        reject(e);
      };
      const path = this.proto === 'ours' ? '/ws' : '/socket.io/?EIO=4&transport=websocket';
      this.sock = connect(this.port, '127.0.0.1');
      this.sock.setNoDelay(true);
      this.sock.on('error', (e) => fail(e));
      this.sock.on('close', () => {
        this.closed = true;
      });
      this.sock.on('connect', () => {
        this.sock.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${this.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      this.sock.on('data', (d: Buffer) => this.onData(d));
      // The join sequence, driven by the server's text frames.
      const steps: ((t: string) => boolean)[] =
        this.proto === 'ours'
          ? [
              (t) => {
                if (!t.includes('"welcome"')) return false;
                this.sendText(JSON.stringify({ type: 'join', room: this.room }));
                return true;
              },
              (t) => t.includes('"joined"'),
            ]
          : [
              (t) => {
                if (t[0] !== '0') return false; // Engine.IO open
                this.sendText('40');
                return true;
              },
              (t) => {
                if (!t.startsWith('40')) return false; // Socket.IO connect ack
                this.sendText(`42${JSON.stringify(['join', this.room])}`);
                return true;
              },
              (t) => t.startsWith('42["joined"'),
            ];
      let i = 0;
      this.waiters.push((t) => {
        if (steps[i](t)) i++;
        if (i === steps.length) {
          clearTimeout(timer);
          this.joined = true;
          this.prepare();
          resolve();
          return true;
        }
        return false;
      });
    });
  }

  private prepare(): void {
    const data = `{"t":"${TS_PLACEHOLDER}","p":"${PAD}"}`;
    const text = this.proto === 'ours' ? `{"type":"relay","data":${data}}` : `42["message",${JSON.stringify(this.room)},${data}]`;
    const payload = Buffer.from(text);
    const { frame, mask, payloadOffset } = maskedFrame(payload);
    this.frame = frame;
    this.mask = mask;
    this.payloadOffset = payloadOffset;
    this.tsOffset = payloadOffset + payload.indexOf(TS_MARK) + TS_MARK.length;
  }

  get frameBytes(): number {
    return this.frame.length;
  }

  /** Send one relay with the current time patched in (into a copy: a queued write must not see later patches). */
  sendRelay(): void {
    if (this.closed) return;
    const b = Buffer.allocUnsafe(this.frame.length);
    this.frame.copy(b);
    const ts = String(nowUs()).padStart(TS_DIGITS, '0');
    for (let i = 0; i < TS_DIGITS; i++) {
      const pos = this.tsOffset + i;
      b[pos] = ts.charCodeAt(i) ^ this.mask[(pos - this.payloadOffset) & 3];
    }
    this.sock.write(b);
  }

  private sendText(text: string): void {
    this.sock.write(maskedFrame(Buffer.from(text)).frame);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    if (!this.upgraded) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1');
      if (!head.startsWith('HTTP/1.1 101')) {
        this.sock.destroy(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
        return;
      }
      this.upgraded = true;
      this.buf = this.buf.subarray(end + 4);
    }
    let off = 0;
    const b = this.buf;
    while (b.length - off >= 2) {
      const op = b[off] & 0x0f;
      let len = b[off + 1] & 0x7f;
      let h = 2;
      if (len === 126) {
        if (b.length - off < 4) break;
        len = b.readUInt16BE(off + 2);
        h = 4;
      } else if (len === 127) {
        if (b.length - off < 10) break;
        len = Number(b.readBigUInt64BE(off + 2));
        h = 10;
      }
      if (b.length - off < h + len) break;
      const start = off + h;
      const endp = start + len;
      off = endp;
      if (op === 0x9) {
        this.sock.write(this.pong); // ws ping (RFC 6455 §5.5.2); the payload is empty
        continue;
      }
      if (op !== 0x1) continue;
      if (this.joined) {
        const at = b.indexOf(TS_MARK, start);
        if (at >= 0 && at < endp) {
          const ts = Number(b.toString('latin1', at + TS_MARK.length, at + TS_MARK.length + TS_DIGITS));
          this.received++;
          this.onLatency(ts, nowUs());
          continue;
        }
        // Engine.IO ping "2" → pong "3".
        if (this.proto === 'socketio' && len === 1 && b[start] === 0x32) this.sendText('3');
        continue;
      }
      const text = b.toString('utf8', start, endp);
      if (this.proto === 'socketio' && text === '2') {
        this.sendText('3');
        continue;
      }
      this.waiters = this.waiters.filter((w) => !w(text));
    }
    this.buf = off === b.length ? Buffer.alloc(0) : b.subarray(off);
  }

  destroy(): void {
    this.sock?.destroy();
  }
}
