/** The jitter buffer (src/rtc/media/jitter-buffer.ts) on an injected clock. */
import { describe, expect, it } from 'vitest';
import { JitterBuffer, type JitterOutput } from '../../../src/rtc/media/jitter-buffer.js';

describe('jitter buffer', () => {
  const seq = (n: number) => ({ header: { sequenceNumber: n & 0xffff } });
  const run = (latency: number) => {
    let now = 0;
    const out: (number | string)[] = [];
    const jb = new JitterBuffer(latency, (o: JitterOutput<{ header: { sequenceNumber: number } }>) => out.push('lost' in o ? `lost ${o.lost}` : o.packet.header.sequenceNumber), () => now);
    return { jb, out, tick: (ms: number) => (now += ms) };
  };

  it('restores order, drops duplicates and late packets, and follows the 16-bit wrap', () => {
    const { jb, out } = run(500);
    for (const n of [65_534, 0, 65_535, 0, 1, 65_533, 2]) jb.push(seq(n));
    expect(out).toEqual([65_534, 65_535, 0, 1, 2]);
  });

  it('waits `latency` for a missing packet (a retransmission in time fills the hole), then reports the gap', () => {
    const { jb, out, tick } = run(500);
    jb.push(seq(10));
    jb.push(seq(12));
    tick(300);
    jb.push(seq(11)); // the retransmission
    expect(out).toEqual([10, 11, 12]);
    jb.push(seq(14));
    tick(499);
    jb.push(seq(15));
    expect(out).toEqual([10, 11, 12]);
    tick(2);
    jb.push(seq(16));
    expect(out).toEqual([10, 11, 12, 'lost 1', 14, 15, 16]);
    jb.push(seq(18));
    jb.flush();
    expect(out.slice(-2)).toEqual(['lost 1', 18]);
  });
});
