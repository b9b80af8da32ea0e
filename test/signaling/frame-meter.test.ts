// FrameMeter counts the bytes of an unfinished WebSocket message from the raw byte stream (RFC 6455 §5.2, §5.4).
// Frames here are built by ws's own Sender (masked, as a client sends them), and the stream is cut at arbitrary
// points: whatever the cuts, the meter holds exactly the bytes of the unfinished message, and 0 between messages.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as ws from 'ws';
import { FrameMeter, PendingBudget } from '../../src/signaling/frame-meter.js';

// ws's frame encoder (lib/sender.js) is not in its type definitions; it is the code every ws client sends with.
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };

const OP = { continuation: 0, text: 1, binary: 2, ping: 9, pong: 10 } as const;

function frame(payload: Buffer, opcode: number, fin: boolean): Buffer {
  const parts = Sender.frame(payload, { fin, opcode, mask: true, readOnly: false, rsv1: false });
  return Buffer.concat(parts);
}

/** A message as frames: fragments of a data message, with control frames interleaved (allowed by §5.4). */
function messageFrames(sizes: number[], pingsBetween: boolean): Buffer[] {
  return sizes.map((n, i) => {
    const f = frame(Buffer.alloc(n, 0x61), i === 0 ? OP.text : OP.continuation, i === sizes.length - 1);
    return pingsBetween && i < sizes.length - 1 ? Buffer.concat([f, frame(Buffer.from('hb'), OP.ping, true)]) : f;
  });
}

describe('FrameMeter', () => {
  it('counts a fragmented message until its FIN frame, then drops to 0; control frames do not count', () => {
    const m = new FrameMeter();
    const [a, b, c] = messageFrames([1000, 70_000, 10], false) as [Buffer, Buffer, Buffer];
    expect(m.push(a)).toBe(a.length);
    expect(m.push(frame(Buffer.from('x'), OP.ping, true))).toBe(a.length);
    expect(m.push(b)).toBe(a.length + b.length);
    expect(m.push(c)).toBe(0);
  });

  it('counts a frame whose payload is still arriving (a slow sender trickling one big frame)', () => {
    const m = new FrameMeter();
    const f = frame(Buffer.alloc(200_000, 1), OP.text, true);
    expect(m.push(f.subarray(0, 1))).toBe(0); // half a header: nothing held yet
    expect(m.push(f.subarray(1, 150_000))).toBe(150_000);
    expect(m.push(f.subarray(150_000))).toBe(0);
  });

  it('64-bit lengths and empty frames', () => {
    const m = new FrameMeter();
    expect(m.push(frame(Buffer.alloc(0), OP.text, true))).toBe(0);
    const big = frame(Buffer.alloc(70_000), OP.binary, false);
    expect(big[1]! & 0x7f).toBe(127);
    expect(m.push(big)).toBe(big.length);
    expect(m.push(frame(Buffer.alloc(0), OP.continuation, true))).toBe(0);
  });

  it('any stream of messages cut at any points: held = exactly the bytes of the unfinished message received so far', () => {
    interface Seg {
      start: number;
      end: number;
      header: number;
      data: boolean;
      /** The stream offset where this segment's message began. */
      msgStart: number;
    }
    const msg = fc.record({ sizes: fc.array(fc.integer({ min: 0, max: 70_000 }), { minLength: 1, maxLength: 4 }), pings: fc.boolean() });
    fc.assert(
      fc.property(fc.array(msg, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 12 }), (msgs, cutsRaw) => {
        const segs: Seg[] = [];
        const bufs: Buffer[] = [];
        let at = 0;
        for (const x of msgs) {
          const msgStart = at;
          x.sizes.forEach((n, i) => {
            const parts: [Buffer, boolean][] = [[frame(Buffer.alloc(n, 0x61), i === 0 ? OP.text : OP.continuation, i === x.sizes.length - 1), true]];
            if (x.pings && i < x.sizes.length - 1) parts.push([frame(Buffer.from('hb'), OP.ping, true), false]);
            for (const [f, data] of parts) {
              const len7 = f[1]! & 0x7f;
              segs.push({ start: at, end: at + f.length, header: 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + 4, data, msgStart });
              bufs.push(f);
              at += f.length;
            }
          });
        }
        const stream = Buffer.concat(bufs);
        const expected = (cut: number): number => {
          // The message the cut falls in: the last segment that started before the cut, if its message is unfinished.
          const inside = segs.filter((g) => g.start < cut);
          if (inside.length === 0) return 0;
          const last = inside.at(-1)!;
          const lastOfMsg = segs.filter((g) => g.msgStart === last.msgStart).at(-1)!;
          if (cut >= lastOfMsg.end) return 0;
          return segs
            .filter((g) => g.msgStart === last.msgStart && g.data && cut >= g.start + g.header)
            .reduce((sum, g) => sum + Math.min(cut, g.end) - g.start, 0);
        };
        const cuts = [...new Set(cutsRaw.map((c) => c % (stream.length + 1)))].sort((x, y) => x - y);
        const m = new FrameMeter();
        let prev = 0;
        for (const cut of [...cuts, stream.length]) {
          expect(m.push(stream.subarray(prev, cut)), `cut at ${cut}`).toBe(expected(cut));
          prev = cut;
        }
        expect(m.held).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('PendingBudget', () => {
  it('admits growth up to the budget, refuses the growth that passes it, always admits shrinking', () => {
    const b = new PendingBudget(1000);
    expect(b.update(0, 600)).toBe(true);
    expect(b.update(0, 300)).toBe(true);
    expect(b.update(0, 200)).toBe(false); // 1100 > 1000: the caller closes that connection and releases it
    b.update(200, 0);
    expect(b.bytes).toBe(900);
    expect(b.update(600, 100)).toBe(true);
    expect(b.bytes).toBe(400);
  });
});
