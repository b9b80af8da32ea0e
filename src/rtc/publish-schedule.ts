/**
 * When `publish` sends which frame: one schedule for both tracks, frame k of loop l due at
 * start + l × duration + frame time, so audio and video stay together however long it loops.
 *
 * A keyframe request (PLI/FIR) cannot be answered by encoding (the frames are pre-encoded), so the video jumps to the
 * file's next keyframe and sends it at once. Its RTP timestamp keeps following the wall clock (the skipped stretch is
 * taken off the video's schedule as `videoSkewMs`): the receiver sees a few frames missing, not a stall or a jump back.
 */
import type { Frame, MediaSource } from './publish-source.js';

export interface DueFrame {
  kind: 'video' | 'audio';
  frame: Frame;
  /** When it is due, ms from the start of sending (its RTP time). */
  atMs: number;
}

class Lane {
  index = 0;
  constructor(
    readonly frames: Frame[],
    private readonly loopMs: number,
  ) {}

  get loop(): number {
    return Math.floor(this.index / this.frames.length);
  }

  current(): Frame {
    return this.frames[this.index % this.frames.length]!;
  }

  /** When the current frame is due (before any skew). */
  dueMs(): number {
    return this.loop * this.loopMs + this.current().timeMs;
  }
}

export class PublishSchedule {
  /** ms taken off the video schedule by keyframe skips (the video content runs ahead of the clock by this). */
  private videoSkewMs = 0;
  private readonly video: Lane | undefined;
  private readonly audio: Lane | undefined;

  constructor(
    private readonly src: MediaSource,
    private readonly loop: boolean,
  ) {
    this.video = src.video?.frames.length ? new Lane(src.video.frames, src.durationMs) : undefined;
    this.audio = src.audio?.frames.length ? new Lane(src.audio.frames, src.durationMs) : undefined;
  }

  /** Completed passes through the file (the slower track decides). */
  get loops(): number {
    return Math.min(this.video?.loop ?? Infinity, this.audio?.loop ?? Infinity);
  }

  /** Not looping and the file has been sent once. */
  get finished(): boolean {
    return !this.loop && this.loops >= 1;
  }

  /** Every frame due by `nowMs`, in order per track. */
  takeDue(nowMs: number): DueFrame[] {
    const out: DueFrame[] = [];
    const drain = (lane: Lane | undefined, kind: 'video' | 'audio', skew: number): void => {
      while (lane && (this.loop || lane.loop === 0)) {
        const atMs = lane.dueMs() - skew;
        if (atMs > nowMs) break;
        out.push({ kind, frame: lane.current(), atMs });
        lane.index += 1;
      }
    };
    drain(this.video, 'video', this.videoSkewMs);
    drain(this.audio, 'audio', 0);
    return out;
  }

  /** Jump the video to the file's next keyframe (wrapping into the next loop). Returns how many frames were skipped. */
  skipToKeyframe(): number {
    const v = this.video;
    if (!v) return 0;
    const n = v.frames.length;
    let k = v.index;
    while (k < v.index + n && !v.frames[k % n]!.keyframe) k++;
    if (!v.frames[k % n]!.keyframe) return 0; // no keyframe at all
    const skipped = k - v.index;
    if (skipped === 0) return 0;
    const target = Math.floor(k / n) * this.src.durationMs + v.frames[k % n]!.timeMs;
    this.videoSkewMs += target - v.dueMs();
    v.index = k;
    return skipped;
  }

  /** ms until the next frame is due (for the timer), at most `maxMs`. */
  nextWakeMs(nowMs: number, maxMs: number): number {
    let next = maxMs;
    if (this.video) next = Math.min(next, this.video.dueMs() - this.videoSkewMs - nowMs);
    if (this.audio) next = Math.min(next, this.audio.dueMs() - nowMs);
    return Math.max(1, Math.ceil(next));
  }
}
