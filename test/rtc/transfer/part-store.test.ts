/**
 * recv-file's partial-file store (src/rtc/transfer/part-store.ts) on the real file system: only a directory rtc-cli
 * created and only regular files of its own are used; symlinks, hard links, FIFOs and directories of other users are
 * refused and left exactly as they were. No peer is involved, so these run the store directly (and the CLI where it
 * refuses before connecting). A partial directory owned by another user needs root to plant: part-store.system.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PartFile, PartStore } from '../../../src/rtc/transfer/part-store.js';
import { MAX_NAME_BYTES, PARTIAL_DIR } from '../../../src/rtc/transfer/names.js';
import { removeDir, tempDir } from '../../helpers/peer.js';
import { expectPartialDirRefused, id, sha } from '../../helpers/part-store.js';

let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await tempDir('rtc-parts-');
});

afterAll(async () => {
  if (dir) await removeDir(dir);
});

function freshOut(): string {
  const p = join(dir, `out-${++n}`);
  mkdirSync(p);
  return p;
}


async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('the partial directory', () => {
  it('is created 0700 on first use and removed when its last partial file goes', async () => {
    const out = freshOut();
    const store = new PartStore(out);
    const part = await store.claim(id());
    const st = lstatSync(join(out, PARTIAL_DIR));
    expect(st.isDirectory()).toBe(true);
    expect(st.mode & 0o777).toBe(0o700);
    await part.keep(); // empty: nothing to resume
    expect(existsSync(join(out, PARTIAL_DIR))).toBe(false);
  });

  it.each([
    ['a symlink to a directory elsewhere', (out: string, elsewhere: string) => symlinkSync(elsewhere, join(out, PARTIAL_DIR)), /symbolic link/],
    ['a plain file', (out: string) => writeFileSync(join(out, PARTIAL_DIR), 'x'), /not a directory/],
    ['writable by others', (out: string) => (mkdirSync(join(out, PARTIAL_DIR)), chmodSync(join(out, PARTIAL_DIR), 0o777)), /writable by other users/],
  ])('is refused when it is %s, before connecting (exit 2) and when claiming', async (_what, plant, message) => {
    const out = freshOut();
    const elsewhere = join(dir, `elsewhere-${n}`);
    mkdirSync(elsewhere);
    plant(out, elsewhere);
    await expectPartialDirRefused(out, message);
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});

describe('partial files', () => {
  it('are bound to the announced name, size and SHA-256, within NAME_MAX', () => {
    const a = PartStore.partName(id());
    expect(a).toMatch(/^a\.bin\.[0-9a-f]{24}\.part$/);
    expect(PartStore.partName(id({ size: 11 }))).not.toBe(a);
    expect(PartStore.partName(id({ sha256: sha('other') }))).not.toBe(a);
    expect(PartStore.partName(id({ target: 'b.bin' }))).not.toBe(PartStore.partName(id({ target: 'b.bin', size: 11 })));
    const long = PartStore.partName(id({ target: 'é'.repeat(127) }));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(long).not.toContain('\uFFFD');
  });

  it('resume from their own bytes for the same identity, and start empty for another', async () => {
    const out = freshOut();
    const store = new PartStore(out);
    const first = await store.claim(id());
    await first.write([Buffer.from('01234')], 0);
    await first.keep();
    const again = await store.claim(id());
    expect(again.offset).toBe(5);
    expect(again.prefix!.copy().digest('hex')).toBe(sha('01234'));
    await again.keep();
    const other = await store.claim(id({ sha256: sha('abcdefghij') }));
    expect(other.offset).toBe(0);
    expect(other.prefix).toBeUndefined();
    await other.keep();
    expect(readdirSync(join(out, PARTIAL_DIR))).toEqual([PartStore.partName(id())]);
  });

  it('never follow a symlink, write through a hard link, or open a FIFO planted at their path, and leave them be', async () => {
    const out = freshOut();
    const store = new PartStore(out);
    await (await store.claim(id({ target: 'warmup' }))).write([Buffer.from('x')], 0); // creates the directory, keeps it
    const victim = join(dir, `victim-${n}.txt`);
    writeFileSync(victim, 'precious');
    const at = (target: string): string => join(out, PARTIAL_DIR, PartStore.partName(id({ target })));

    symlinkSync(victim, at('sym.bin'));
    expect(await codeOf(store.claim(id({ target: 'sym.bin' })))).toBe('RTC_ERR_WRITE');
    expect(lstatSync(at('sym.bin')).isSymbolicLink()).toBe(true);

    linkSync(victim, at('hard.bin'));
    expect(await codeOf(store.claim(id({ target: 'hard.bin' })))).toBe('RTC_ERR_WRITE');
    expect(statSync(victim).nlink).toBe(2);

    execFileSync('mkfifo', [at('fifo.bin')]);
    expect(await codeOf(store.claim(id({ target: 'fifo.bin' })))).toBe('RTC_ERR_WRITE');
    expect(lstatSync(at('fifo.bin')).isFIFO()).toBe(true);

    // A stream of unknown size reuses a leftover partial of its own, but not a symlink planted in its place.
    const stream = { target: 'stdin', size: null, sha256: null };
    symlinkSync(victim, join(out, PARTIAL_DIR, PartStore.partName(stream)));
    expect(await codeOf(store.claim(stream))).toBe('RTC_ERR_WRITE');
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });

  it('commit without clobbering a file that appeared meanwhile, keeping the data', async () => {
    const out = freshOut();
    const part = await new PartStore(out).claim(id());
    await part.write([Buffer.from('0123'), Buffer.from('456789')], 0);
    await part.finish();
    writeFileSync(join(out, 'a.bin'), 'appeared');
    await expect(part.commit(join(out, 'a.bin'), false)).rejects.toMatchObject({ code: 'RTC_ERR_EXISTS' });
    expect(readFileSync(join(out, 'a.bin'), 'utf8')).toBe('appeared');
    expect(readFileSync(part.path, 'utf8')).toBe('0123456789');
  });
});

describe('writing a partial file', () => {
  it('writes a batch of chunks back to back, across the write-behind flush, and holds exactly those bytes after finish', async () => {
    const out = freshOut();
    const part = await new PartStore(out).claim(id({ size: 12 * 1024 * 1024 }));
    const chunks = Array.from({ length: 192 }, (_, i) => Buffer.alloc(65_536, i)); // 12 MiB: past the 8 MiB flush
    for (let i = 0; i < chunks.length; i += 16) await part.write(chunks.slice(i, i + 16), i * 65_536);
    await part.finish();
    expect(readFileSync(part.path).equals(Buffer.concat(chunks))).toBe(true);
  });

  // A real file system returns a short write only at the edge of a full disk; a handle that takes at most 7 bytes a
  // call stands in for it, over a real Buffer.
  it('continues a short write where it stopped, so no byte is skipped or written twice', async () => {
    const disk = Buffer.alloc(64, '.');
    const take = (src: Buffer, at: number): number => {
      const n = Math.min(7, src.length);
      src.copy(disk, at, 0, n);
      return n;
    };
    const fh = {
      write: async (b: Buffer, off: number, len: number, at: number) => ({ bytesWritten: take(b.subarray(off, off + len), at) }),
      writev: async (bs: Buffer[], at: number) => ({ bytesWritten: take(Buffer.concat(bs), at) }),
    };
    const part = new PartFile(undefined as never, 'fake', fh as never, 0, undefined);
    await part.write([Buffer.from('0123456789'), Buffer.from(''), Buffer.from('abc'), Buffer.from('DEFGHIJKLMNOPQRSTUVWXYZ')], 3);
    expect(disk.toString()).toBe('...0123456789abcDEFGHIJKLMNOPQRSTUVWXYZ' + '.'.repeat(25));
  });

  it('fails finish() when the background flush failed, instead of acknowledging a file the disk may not hold', async () => {
    const fh = {
      writev: async (bs: Buffer[]) => ({ bytesWritten: bs.reduce((n, b) => n + b.length, 0) }),
      datasync: async () => {
        throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      },
      sync: async () => {},
      close: async () => {},
    };
    const part = new PartFile(undefined as never, 'fake', fh as never, 0, undefined);
    await part.write([Buffer.alloc(4 * 1024 * 1024), Buffer.alloc(4 * 1024 * 1024)], 0);
    await expect(part.finish()).rejects.toMatchObject({ code: 'EIO' });
  });
});
