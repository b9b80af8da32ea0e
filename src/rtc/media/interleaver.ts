/**
 * Puts the frames of several tracks into one time order before they reach the muxer.
 *
 * The tracks arrive with different delays (video waits in a 500 ms jitter buffer for retransmissions, audio does not),
 * but a Matroska cluster should hold its blocks in time order, and a cluster that starts at a video keyframe must not
 * be followed by audio from before it: werift's writer dropped exactly those audio frames. So a frame is released only
 * when every track has something queued at or after it, which also tells us each frame's duration (the time to the
 * next frame of its track). A track that goes quiet holds the others back at most `maxHoldMs` (wall clock).
 */

export interface Timed {
  /** Time on the file's timeline, ms (exact, unrounded). */
  timeMs: number;
}

export interface Released<T> {
  track: number;
  item: T;
  /** Time to the track's next frame, when known. */
  durationMs?: number;
  /** The track's last frame (only from flush()). */
  last: boolean;
}

interface Queued<T> {
  item: T;
  at: number;
}

export class Interleaver<T extends Timed> {
  private readonly queues = new Map<number, Queued<T>[]>();

  constructor(
    tracks: number[],
    private readonly emit: (r: Released<T>) => void,
    private readonly maxHoldMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    for (const t of tracks) this.queues.set(t, []);
  }

  push(track: number, item: T): void {
    const q = this.queues.get(track);
    if (!q) return;
    q.push({ item, at: this.now() });
    this.release(false);
  }

  /** Release everything still queued, in time order (stop). */
  flush(): void {
    this.release(true);
  }

  /** Frames waiting, over all tracks. */
  get pending(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  private release(all: boolean): void {
    for (;;) {
      const head = this.earliest();
      if (!head) return;
      const [track, q] = head;
      const first = q[0]!;
      const ready = all || this.now() - first.at >= this.maxHoldMs || (q.length >= 2 && this.othersHaveFrames(track));
      if (!ready) return;
      q.shift();
      const next = q[0];
      this.emit({ track, item: first.item, durationMs: next ? next.item.timeMs - first.item.timeMs : undefined, last: all && !next });
    }
  }

  private earliest(): [number, Queued<T>[]] | undefined {
    let best: [number, Queued<T>[]] | undefined;
    for (const [track, q] of this.queues) {
      if (q.length && (!best || q[0]!.item.timeMs < best[1][0]!.item.timeMs)) best = [track, q];
    }
    return best;
  }

  private othersHaveFrames(track: number): boolean {
    for (const [t, q] of this.queues) if (t !== track && q.length === 0) return false;
    return true;
  }
}
