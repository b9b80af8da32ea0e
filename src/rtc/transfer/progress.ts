/** Progress reports for one file, at most every PROGRESS_INTERVAL_MS (plus a forced one at the end of the file). */
import type { TransferProgress } from './types.js';

const PROGRESS_INTERVAL_MS = 200;

export class ProgressMeter {
  private last = 0;
  private readonly started = Date.now();

  constructor(
    private readonly emit: ((p: TransferProgress) => void) | undefined,
    private readonly base: Omit<TransferProgress, 'bytes' | 'rate' | 'etaSeconds' | 'sessionBytes'>,
  ) {}

  update(bytes: number, sessionBytes: number, force = false): void {
    if (!this.emit) return;
    const now = Date.now();
    if (!force && now - this.last < PROGRESS_INTERVAL_MS) return;
    this.last = now;
    const secs = Math.max((now - this.started) / 1000, 0.001);
    const rate = (bytes - this.base.offset) / secs;
    const size = this.base.size;
    const etaSeconds = size !== null && rate > 0 ? Math.max(0, (size - bytes) / rate) : null;
    this.emit({ ...this.base, bytes, sessionBytes, rate, etaSeconds });
  }
}
