/**
 * Reading a file for sending: large blocks, one read ahead of the consumer.
 *
 * A read stream with a 64 KiB highWaterMark costs a thread-pool round trip and a fresh Buffer per chunk (1,024 of each
 * for 64 MiB), and it only starts the next read once the consumer asks. Here the disk read of block n+1 runs while
 * block n is being sent, and the sender cuts each block into chunks with subarray (no copy).
 *
 * With `reuse`, two buffers take turns instead of a fresh one per block. A fresh 1 MiB Buffer is an mmap'd, zeroed
 * allocation outside V8's heap, and 64 of them per 64 MiB make V8 run a full mark-compact for the external memory
 * (measured with --trace-gc and perf on the sender: GC and page faults were a tenth of its CPU). Only a consumer that
 * is done with a block when it asks for the next may reuse: hashing is, and so is a channel that copies what it sends
 * (node-datachannel); werift keeps references to queued data until it is acknowledged, so its sender must not.
 */
import { open } from 'node:fs/promises';

export const READ_BLOCK_SIZE = 1024 * 1024;

export interface ReadBlocksOptions {
  blockSize?: number;
  /** The consumer is done with each block when it asks for the next one (see above). */
  reuse?: boolean;
}

/**
 * The bytes of `path` from `start` up to `end` (exclusive), in blocks of at most `blockSize`. A file that is shorter
 * than `end` by now ends early: the caller sends what there is and the size check on the other side says so.
 */
export async function* readBlocks(path: string, start: number, end: number, o: ReadBlocksOptions = {}): AsyncGenerator<Buffer> {
  if (start >= end) return;
  const blockSize = o.blockSize ?? READ_BLOCK_SIZE;
  const fh = await open(path, 'r');
  // With reuse, blocks alternate between two buffers: the one the consumer holds and the one being read ahead into.
  const size = Math.min(blockSize, end - start);
  const pair: Buffer[] = [];
  let turn = 0;
  const take = (n: number): Buffer => {
    if (!o.reuse) return Buffer.allocUnsafe(n);
    const i = turn++ % 2;
    pair[i] ??= Buffer.allocUnsafe(size);
    return pair[i].subarray(0, n);
  };
  const readAt = async (pos: number): Promise<Buffer> => {
    const buf = take(Math.min(blockSize, end - pos));
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    return bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
  };
  let pending: Promise<Buffer> | undefined;
  try {
    let pos = start;
    pending = readAt(pos);
    while (pending) {
      const buf = await pending;
      pending = undefined;
      if (buf.length === 0) return;
      pos += buf.length;
      if (pos < end) {
        pending = readAt(pos);
        // A failed read-ahead is reported when (and if) the consumer gets to it.
        pending.catch(() => {});
      }
      yield buf;
    }
  } finally {
    // close() waits for a read still in flight (the consumer stopped early).
    await fh.close().catch(() => {});
  }
}
