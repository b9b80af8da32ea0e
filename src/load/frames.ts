/**
 * The small part of WebSocket (RFC 6455) a load generator needs, cheaply: client frames built once and masked with a
 * non-zero key (§5.3: clients must mask; browsers use random keys, and `ws` skips unmasking for an all-zero key, which
 * would flatter the server), a timestamp patched into a copy per send, and a parser that finds frames in a byte stream
 * without copying them.
 */
import { randomBytes } from 'node:crypto';

export const OP_TEXT = 0x1;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

function mask4(): Buffer {
  let m = randomBytes(4);
  while (m.readUInt32BE(0) === 0) m = randomBytes(4);
  return m;
}

/** A masked client frame (§5.2). `payloadOffset`: where the (masked) payload starts in `frame`. */
export function maskedFrame(payload: Buffer, opcode = OP_TEXT): { frame: Buffer; mask: Buffer; payloadOffset: number } {
  const len = payload.length;
  let header: Buffer;
  if (len < 126) header = Buffer.from([0x80 | opcode, 0x80 | len]);
  else if (len <= 0xffff) header = Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = mask4();
  const masked = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
  return { frame: Buffer.concat([header, mask, masked]), mask, payloadOffset: header.length + 4 };
}

/**
 * A text frame that is sent many times with a fixed-width ASCII field (a timestamp) patched in: built and masked once;
 * `stamp()` returns a copy with the field's digits written (masked) at their place.
 */
export class StampedFrame {
  private readonly frame: Buffer;
  private readonly mask: Buffer;
  private readonly payloadOffset: number;
  private readonly fieldOffset: number;

  constructor(text: string, placeholder: string) {
    const payload = Buffer.from(text);
    const at = payload.indexOf(placeholder);
    if (at < 0) throw new Error('placeholder not in frame');
    const f = maskedFrame(payload);
    this.frame = f.frame;
    this.mask = f.mask;
    this.payloadOffset = f.payloadOffset;
    this.fieldOffset = f.payloadOffset + at;
  }

  get length(): number {
    return this.frame.length;
  }

  /** A copy with `digits` (same width as the placeholder) written into the field. */
  stamp(digits: string): Buffer {
    const b = Buffer.allocUnsafe(this.frame.length);
    this.frame.copy(b);
    for (let i = 0; i < digits.length; i++) {
      const pos = this.fieldOffset + i;
      b[pos] = digits.charCodeAt(i) ^ this.mask[(pos - this.payloadOffset) & 3]!;
    }
    return b;
  }
}

export interface FrameSink {
  /** One complete frame: `buf[start, end)` is its (unmasked: servers do not mask, §5.1) payload. */
  (opcode: number, buf: Buffer, start: number, end: number): void;
}

/**
 * Feed bytes, get frames. Frames are reported in place (no copy); only an incomplete tail is kept between calls.
 * Fragmented messages (§5.4) are not reassembled: signaling servers send each message in one frame.
 */
export class FrameReader {
  private tail: Buffer | undefined;

  constructor(private readonly sink: FrameSink) {}

  push(chunk: Buffer): void {
    const b = this.tail ? Buffer.concat([this.tail, chunk]) : chunk;
    let off = 0;
    while (b.length - off >= 2) {
      const op = b[off]! & 0x0f;
      let len = b[off + 1]! & 0x7f;
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
      this.sink(op, b, off + h, off + h + len);
      off += h + len;
    }
    this.tail = off === b.length ? undefined : b.subarray(off);
  }
}
