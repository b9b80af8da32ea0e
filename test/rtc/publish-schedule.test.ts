/** The publish schedule (src/rtc/publish-schedule.ts) on the shipped test pattern: no network, no clock. */
import { describe, expect, it } from 'vitest';
import { loadSource } from '../../src/rtc/publish-source.js';
import { PublishSchedule } from '../../src/rtc/publish-schedule.js';

const STEP = 1000 / 30;

describe('publish schedule', () => {
  const src = loadSource('testsrc'); // 120 VP8 frames, 4 s, keyframes at 0, 30, 60, 90

  it('sends each frame when due, both loops on one clock, and ends after one pass without --loop', () => {
    const once = new PublishSchedule(src, false);
    expect(once.takeDue(-1)).toEqual([]);
    expect(once.takeDue(0).map((d) => d.atMs)).toEqual([0]);
    expect(once.takeDue(100).map((d) => Math.round(d.atMs))).toEqual([33, 67, 100]);
    expect(once.takeDue(10_000)).toHaveLength(116);
    expect(once.finished).toBe(true);
    const looping = new PublishSchedule(src, true);
    const due = looping.takeDue(4000 + 10);
    expect(due).toHaveLength(121);
    expect(due.at(-1)).toMatchObject({ frame: src.video!.frames[0], atMs: 4000 }); // the second pass starts at 4 s
    expect(looping.loops).toBe(1);
    expect(looping.finished).toBe(false);
  });

  it('a keyframe request skips to the next keyframe (also across the loop end) and keeps the RTP time on the clock', () => {
    const s = new PublishSchedule(src, true);
    s.takeDue(100); // frames 0..3 sent
    expect(s.skipToKeyframe()).toBe(26); // frames 4..29 skipped
    const next = s.takeDue(140);
    expect(next[0]!.frame).toBe(src.video!.frames[30]);
    expect(next[0]!.atMs).toBeCloseTo(4 * STEP, 6); // due where frame 4 was: no stall, no jump back
    // Frames are now 866.7 ms early on the clock; by 3910 ms frame 23 of the second pass has gone out.
    s.takeDue(3910);
    expect(s.skipToKeyframe()).toBe(6); // to frame 30 of the second pass
    const [k] = s.takeDue(3934);
    expect(k!.frame).toBe(src.video!.frames[30]);
    expect(k!.atMs).toBeCloseTo(4000 + 24 * STEP - (30 - 4) * STEP, 6); // where frame 24 was due
  });
});
