/**
 * SHA-256 of files and file prefixes (docs/file-transfer-protocol.md §Integrity, §Resume), with a byte count as it goes
 * so the sender can tell the receiver it is still working (`ping.work`).
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { READ_BLOCK_SIZE, readBlocks } from './read-blocks.js';

export interface FileDigest {
  sha256: string;
  size: number;
}

/** Hash the whole file; `onBytes` gets the running count. */
export async function digestFile(path: string, onBytes?: (done: number) => void): Promise<FileDigest> {
  const { hash, bytes } = await hashPath(path, undefined, onBytes);
  return { sha256: hash.digest('hex'), size: bytes };
}

/** The hash state (not yet digested) of the first `length` bytes of `path` (all of it when undefined). */
export async function hashPrefix(path: string, length: number, onBytes?: (done: number) => void): Promise<Hash> {
  return (await hashPath(path, length, onBytes)).hash;
}

async function hashPath(path: string, length: number | undefined, onBytes?: (done: number) => void): Promise<{ hash: Hash; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  if (length === 0) return { hash, bytes };
  // The next block is read while this one is hashed (read-blocks.ts).
  for await (const block of readBlocks(path, 0, length ?? Infinity, { reuse: true })) {
    hash.update(block);
    bytes += block.length;
    onBytes?.(bytes);
  }
  return { hash, bytes };
}

/** The hash state of the first `length` bytes of an open file (the receiver's own partial file). */
export async function hashHandle(fh: FileHandle, length: number): Promise<Hash> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.min(READ_BLOCK_SIZE, Math.max(length, 1)));
  let pos = 0;
  while (pos < length) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - pos), pos);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return hash;
}
