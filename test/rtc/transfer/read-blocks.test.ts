/**
 * send-file's block reader (src/rtc/transfer/read-blocks.ts) on real files: the bytes of a range in order, a file that
 * shrank ends early, the file is closed however the consumer stops, and with `reuse` the blocks take turns in two
 * buffers without one being overwritten while the consumer still holds it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBlocks } from '../../../src/rtc/transfer/read-blocks.js';
import { removeDir, tempDir } from '../../helpers/peer.js';

let dir: string;
const data = randomBytes(100_000);
let file: string;

beforeAll(async () => {
  dir = await tempDir('rtc-blocks-');
  file = join(dir, 'data.bin');
  writeFileSync(file, data);
});

afterAll(async () => {
  if (dir) await removeDir(dir);
});

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const b of it) out.push(b);
  return out;
}

/** Descriptors this process holds open on files under `dir` (Linux /proc). */
function openUnder(d: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(d)) n++;
    } catch {
      /* closed meanwhile */
    }
  }
  return n;
}

describe('readBlocks', () => {
  it('yields the range [start, end) in blocks of at most blockSize, in order', async () => {
    const blocks = await collect(readBlocks(file, 1_000, 90_001, { blockSize: 16_384 }));
    expect(blocks.map((b) => b.length)).toEqual([16_384, 16_384, 16_384, 16_384, 16_384, 7_081]);
    expect(Buffer.concat(blocks).equals(data.subarray(1_000, 90_001))).toBe(true);
  });

  it('reads the whole file with an open end, and nothing for an empty range', async () => {
    expect(Buffer.concat(await collect(readBlocks(file, 0, Infinity, { blockSize: 30_000 }))).equals(data)).toBe(true);
    expect(await collect(readBlocks(file, 500, 500))).toEqual([]);
  });

  it('ends early when the file is shorter than the range (the receiver then sees the wrong size)', async () => {
    const short = join(dir, 'short.bin');
    writeFileSync(short, data);
    truncateSync(short, 50_000);
    const got = Buffer.concat(await collect(readBlocks(short, 0, data.length, { blockSize: 16_384 })));
    expect(got.equals(data.subarray(0, 50_000))).toBe(true);
  });

  it('closes the file when the consumer stops early, with a read ahead still in flight', async () => {
    const sub = join(dir, 'early');
    mkdirSync(sub);
    const f = join(sub, 'f.bin');
    writeFileSync(f, data);
    for await (const b of readBlocks(f, 0, data.length, { blockSize: 1_000 })) {
      expect(b.length).toBe(1_000);
      expect(openUnder(sub)).toBe(1);
      break;
    }
    expect(openUnder(sub)).toBe(0);
  });

  it('with reuse: two buffers take turns, and the block the consumer holds is never the one being read into', async () => {
    const seen = new Set<ArrayBufferLike>();
    const copies: Buffer[] = [];
    for await (const b of readBlocks(file, 1_000, 90_001, { blockSize: 16_384, reuse: true })) {
      const copy = Buffer.from(b);
      // The read ahead (the next block) completes meanwhile: a shared buffer would change under us here.
      await new Promise((r) => setTimeout(r, 5));
      expect(b.equals(copy)).toBe(true);
      seen.add(b.buffer);
      copies.push(copy);
    }
    expect(copies.map((b) => b.length)).toEqual([16_384, 16_384, 16_384, 16_384, 16_384, 7_081]);
    expect(Buffer.concat(copies).equals(data.subarray(1_000, 90_001))).toBe(true);
    expect(seen.size).toBe(2);
  });

  it('without reuse every block is its own buffer (werift keeps references to what it queues)', async () => {
    const blocks = await collect(readBlocks(file, 0, data.length, { blockSize: 16_384 }));
    expect(new Set(blocks.map((b) => b.buffer)).size).toBe(blocks.length);
    expect(Buffer.concat(blocks).equals(data)).toBe(true);
  });

  it('rejects with the read error (a directory is not readable as a file)', async () => {
    await expect(collect(readBlocks(dir, 0, 10))).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
