/** What the bitstreams say (src/rtc/media/codec-info.ts) and the interleaver (src/rtc/media/interleaver.ts). */
import { describe, expect, it } from 'vitest';
import { Interleaver, type Released } from '../../../src/rtc/media/interleaver.js';
import { opusPacketDurationMs } from '../../../src/rtc/media/codec-info.js';
import { loadSource } from '../../../src/rtc/publish-source.js';

const FIXTURE_AV = new URL('../../../fixtures/media/testsrc-av-320x240.webm', import.meta.url).pathname;

describe('codec details', () => {
  it('Opus packet durations from the TOC byte (RFC 6716 §3.1)', () => {
    expect(opusPacketDurationMs(Buffer.from([0x78]))).toBe(20); // config 15 (hybrid FB 20 ms), one frame: Chromium's
    expect(opusPacketDurationMs(Buffer.from([0xf8]))).toBe(20); // CELT FB 20 ms
    expect(opusPacketDurationMs(Buffer.from([0x08]))).toBe(20); // SILK NB 20 ms
    expect(opusPacketDurationMs(Buffer.from([0x19]))).toBe(120); // SILK 60 ms, two frames
    expect(opusPacketDurationMs(Buffer.from([0xe3, 0x03]))).toBe(7.5); // CELT 2.5 ms × 3 (code 3)
    expect(opusPacketDurationMs(Buffer.from([0x1b, 0x3f]))).toBeUndefined(); // 63 × 60 ms: over 120 ms
    expect(opusPacketDurationMs(Buffer.alloc(0))).toBeUndefined();
    for (const f of loadSource(FIXTURE_AV).audio!.frames.slice(0, 50)) expect(opusPacketDurationMs(f.data)).toBe(20);
  });

  it('the interleaver releases in time order, knows each duration, holds a quiet track back only so long, flushes with `last`', () => {
    let now = 0;
    const out: Released<{ timeMs: number }>[] = [];
    const il = new Interleaver<{ timeMs: number }>([1, 2], (r) => out.push(r), 1000, () => now);
    il.push(2, { timeMs: 0 });
    il.push(2, { timeMs: 20 });
    il.push(2, { timeMs: 40 });
    expect(out).toHaveLength(0); // video (track 1) has nothing yet: audio waits
    il.push(1, { timeMs: 10 });
    il.push(1, { timeMs: 43 });
    expect(out.map((r) => [r.track, r.item.timeMs, r.durationMs])).toEqual([
      [2, 0, 20],
      [1, 10, 33],
      [2, 20, 20],
    ]);
    now += 1000;
    il.push(2, { timeMs: 60 }); // video went quiet: after 1 s audio goes on without it
    expect(out.map((r) => r.item.timeMs)).toEqual([0, 10, 20, 40, 43]);
    il.flush();
    expect(out.at(-1)).toMatchObject({ track: 2, item: { timeMs: 60 }, last: true });
  });
});
