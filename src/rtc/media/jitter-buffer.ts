/**
 * A sequence-number jitter buffer: hands RTP packets on in sequence order, waits up to `latencyMs` (wall clock) for a
 * missing one — long enough for a NACK retransmission (RFC 4585 §6.2.1) — and then reports the gap and moves on.
 *
 * Why not werift's JitterBufferBase: under loss its sortAndClearBuffer() walks sequence numbers from the current one
 * until its buffer is empty, calling Object.values() at each step; a timed-out packet behind the current number makes
 * it walk all 65536 numbers, which stalled the recorder for seconds at 5 % loss (and then NACKs came too late).
 *
 * Sequence numbers are extended past their 16-bit wrap (RFC 3550 Appendix A.1) relative to the last packet seen.
 */

export interface JitterPacket {
  header: { sequenceNumber: number };
}

export type JitterOutput<P> = { packet: P } | { lost: number };

/** At most this many packets wait; beyond it the oldest gap is given up at once (a sender far ahead of a hole). */
const MAX_WAITING = 2000;

export class JitterBuffer<P extends JitterPacket> {
  private readonly waiting = new Map<number, { packet: P; at: number }>();
  /** Extended sequence number of the next packet to hand on. */
  private next: number | undefined;
  private lastSeq = 0;
  private lastExt = 0;

  constructor(
    private readonly latencyMs: number,
    private readonly out: (o: JitterOutput<P>) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A packet as received: any order; duplicates and packets older than what was handed on are ignored. */
  push(packet: P): void {
    const ext = this.extend(packet.header.sequenceNumber);
    this.next ??= ext;
    if (ext < this.next || this.waiting.has(ext)) return;
    this.waiting.set(ext, { packet, at: this.now() });
    this.drain(false);
  }

  /** End of stream: hand on everything still waiting, in order, reporting the gaps. */
  flush(): void {
    this.drain(true);
  }

  get size(): number {
    return this.waiting.size;
  }

  private extend(seq: number): number {
    if (this.waiting.size === 0 && this.next === undefined) {
      this.lastSeq = seq;
      this.lastExt = seq;
      return seq;
    }
    const delta = ((seq - this.lastSeq + 0x8000) & 0xffff) - 0x8000; // signed 16-bit step
    this.lastSeq = seq;
    this.lastExt += delta;
    return this.lastExt;
  }

  private drain(all: boolean): void {
    for (;;) {
      while (this.next !== undefined && this.waiting.has(this.next)) {
        const { packet } = this.waiting.get(this.next)!;
        this.waiting.delete(this.next);
        this.next += 1;
        this.out({ packet });
      }
      if (this.waiting.size === 0) return;
      // A hole at `next`. Give up on it when the packet after it has waited long enough (or we must).
      const first = Math.min(...this.waiting.keys());
      const waited = this.now() - this.waiting.get(first)!.at;
      if (!all && waited < this.latencyMs && this.waiting.size < MAX_WAITING) return;
      this.out({ lost: first - this.next! });
      this.next = first;
    }
  }
}
