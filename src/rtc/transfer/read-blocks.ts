/**
 * Reading a file for sending: large blocks, one read ahead of the consumer.
 *
 * A read stream with a 64 KiB highWaterMark costs a thread-pool round trip and a fresh Buffer per chunk (1,024 of each
 * for 64 MiB), and it only starts the next read once the consumer asks. Here the disk read of block n+1 runs while
 * block n is being sent, and the sender cuts each block into chunks with subarray (no copy).
 */
import { open } from 'node:fs/promises';

export const READ_BLOCK_SIZE = 1024 * 1024;

/**
 * The bytes of `path` from `start` up to `end` (exclusive), in blocks of at most `blockSize`. A file that is shorter
 * than `end` by now ends early: the caller sends what there is and the size check on the other side says so.
 */
export async function* readBlocks(path: string, start: number, end: number, blockSize = READ_BLOCK_SIZE): AsyncGenerator<Buffer> {
  if (start >= end) return;
  const fh = await open(path, 'r');
  const readAt = async (pos: number): Promise<Buffer> => {
    const buf = Buffer.allocUnsafe(Math.min(blockSize, end - pos));
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
