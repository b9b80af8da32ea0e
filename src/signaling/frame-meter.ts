/**
 * How many bytes a connection holds in a message that has not arrived completely, read from the raw byte stream
 * beside the WebSocket parser (which keeps such bytes in memory until the message is whole).
 *
 * RFC 6455 §5.2 framing: 2 header bytes (FIN, opcode; MASK, 7-bit length), then a 16- or 64-bit extended length
 * (length 126 / 127), a 4-byte masking key when MASK is set, then the payload. §5.4: a message is a data frame (opcode
 * 1 or 2) with FIN=0 followed by continuation frames (opcode 0) up to one with FIN=1; control frames (opcode >= 8,
 * at most 125 bytes, §5.5) may come in between and are not part of it. Only counting happens here: validation is
 * the WebSocket parser's job, and a stream it rejects is closed anyway.
 *
 * PendingBudget adds the meters of all connections up, so together they never hold more than a fixed number of bytes.
 */

const MAX_HEADER = 14;

export class FrameMeter {
  /** Bytes of the current unfinished data message received so far (frame headers included). */
  held = 0;
  private header = Buffer.alloc(MAX_HEADER);
  private headerHave = 0;
  /** Payload bytes still to come in the current frame; -1 while reading a header. */
  private remaining = -1;
  private control = false;
  private fin = false;

  /** Feed the next bytes read from the socket; returns `held` afterwards. */
  push(chunk: Buffer): number {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining < 0) {
        i = this.readHeader(chunk, i);
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - i);
      this.remaining -= n;
      i += n;
      if (!this.control) this.held += n;
      if (this.remaining === 0) this.endFrame();
    }
    return this.held;
  }

  /** Consume header bytes from chunk[i..]; returns the new index. */
  private readHeader(chunk: Buffer, i: number): number {
    while (i < chunk.length && this.headerHave < this.headerLength()) this.header[this.headerHave++] = chunk[i++]!;
    if (this.headerHave < this.headerLength()) return i;
    const b0 = this.header[0]!;
    const b1 = this.header[1]!;
    this.fin = (b0 & 0x80) !== 0;
    this.control = (b0 & 0x08) !== 0;
    const len7 = b1 & 0x7f;
    let len = len7;
    if (len7 === 126) len = this.header.readUInt16BE(2);
    else if (len7 === 127) len = Number(this.header.readBigUInt64BE(2));
    if (!this.control) this.held += this.headerHave;
    this.headerHave = 0;
    this.remaining = len;
    if (len === 0) this.endFrame();
    return i;
  }

  /** Header length so far known: 2, then 2 + extended length + masking key once the second byte is in. */
  private headerLength(): number {
    if (this.headerHave < 2) return 2;
    const b1 = this.header[1]!;
    const len7 = b1 & 0x7f;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
  }

  private endFrame(): void {
    this.remaining = -1;
    // The last frame of a data message: the parser hands the message over and frees it.
    if (!this.control && this.fin) this.held = 0;
  }
}

/** The sum of every connection's `held` bytes, against one budget. */
export class PendingBudget {
  private total = 0;

  constructor(readonly max: number) {}

  /** Record that one connection now holds `now` bytes instead of `before`; false if that exceeds the budget. */
  update(before: number, now: number): boolean {
    this.total += now - before;
    return now <= before || this.total <= this.max;
  }

  get bytes(): number {
    return this.total;
  }
}
