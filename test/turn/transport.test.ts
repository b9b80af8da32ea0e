// The TCP/TLS stream framing of TURN (src/turn/transport.ts, RFC 8656 §12.5).
import { describe, expect, it } from 'vitest';
import { BadMessageError } from '../../src/stun/errors.js';
import { TurnStreamFramer, padForStream, isChannelData } from '../../src/turn/transport.js';

function stun(len: number, fill = 0): Buffer {
  const b = Buffer.alloc(20 + len, fill);
  b.writeUInt16BE(0x0101, 0);
  b.writeUInt16BE(len, 2);
  b.writeUInt32BE(0x2112a442, 4);
  return b;
}

describe('TURN stream framing (RFC 8656 §12.5: self-delimiting, ChannelData padded to 4)', () => {
  it('splits STUN and padded ChannelData arriving byte by byte', () => {
    const cd = Buffer.from([0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0]); // 5 data bytes + 3 padding
    const wire = Buffer.concat([stun(8, 7), cd, stun(0)]);
    const f = new TurnStreamFramer();
    const frames: Buffer[] = [];
    for (const byte of wire) frames.push(...f.push(Buffer.from([byte])));
    expect(frames.map((x) => x.length)).toEqual([28, 12, 20]);
    expect(isChannelData(frames[1]!)).toBe(true);
    expect(frames[1]!.subarray(4, 9)).toEqual(Buffer.from([1, 2, 3, 4, 5]));
  });
  it('keeps an incomplete frame until the rest arrives', () => {
    const f = new TurnStreamFramer();
    const m = stun(12);
    expect(f.push(m.subarray(0, 25))).toEqual([]);
    expect(f.push(m.subarray(25))).toEqual([m]);
  });
  it('rejects bytes that are neither STUN nor ChannelData with BadMessageError', () => {
    const f = new TurnStreamFramer();
    // A TLS alert record: first bits 00 like STUN, but no magic cookie.
    expect(() => f.push(Buffer.from('15030300020246000000000000000000', 'hex'))).toThrow(BadMessageError);
    // RTP-looking bytes (first bits 10) and a reserved channel number (0x5000-0x7FFF).
    expect(() => new TurnStreamFramer().push(Buffer.from('80600001aaaaaaaa', 'hex'))).toThrow(/neither STUN nor ChannelData/);
    expect(() => new TurnStreamFramer().push(Buffer.from('50000004aaaaaaaa', 'hex'))).toThrow(/neither STUN nor ChannelData/);
  });
  it('pads ChannelData to a multiple of 4 and leaves aligned data alone', () => {
    expect(padForStream(Buffer.alloc(5)).length).toBe(8);
    expect(padForStream(Buffer.alloc(8)).length).toBe(8);
  });
});
