/**
 * The receiver's partial files (docs/file-transfer-protocol.md §Partial files).
 *
 * A partial file lives in `<out>/.rtc-cli-partial/`, a directory rtc-cli creates (mode 0700) and checks every time it
 * uses it: a real directory (not a symlink), owned by this user, writable by nobody else. A sender cannot put anything
 * there: its names are single path components, and `.rtc-cli-partial` itself is always refused. So a file in that
 * directory was written by rtc-cli, never by the sender, and none of the user's own files (`report.part`) is ever
 * looked at, hashed for the sender, resumed or deleted. (The same idea as rsync's `--partial-dir`.)
 *
 * Its name binds it to one announced file: `<name>.<24 hex of SHA-256(name, size, sha256)>.part`. A sender is offered
 * a partial (its length and the SHA-256 of its bytes, in `accept`) only when it announces the same name, size and
 * SHA-256 as the sender the partial came from; anyone else gets offset 0 and learns nothing about it.
 *
 * Files are opened with O_NOFOLLOW (a symlink planted at a partial's path is never followed) and created with O_EXCL;
 * an existing partial is used only if it is a regular file of ours with a single link (a hard link to another file is
 * refused, never written to or removed).
 */
import { createHash, type Hash } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { link, lstat, mkdir, open, rename, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { RtcError } from '../../errors.js';
import { hashHandle } from './digest.js';
import { MAX_NAME_BYTES, PARTIAL_DIR, truncateUtf8 } from './names.js';

/** The announced file a partial belongs to. `size`/`sha256` are null for a stream of unknown size (stdin). */
export interface PartIdentity {
  target: string;
  size: number | null;
  sha256: string | null;
}

const KEY_HEX = 24;
const SUFFIX_BYTES = 1 + KEY_HEX + '.part'.length;

function myUid(): number | undefined {
  return process.getuid?.();
}

/** Why `<outDir>/.rtc-cli-partial` cannot be trusted, or undefined when it is fine or absent. */
export async function checkPartialDir(outDir: string): Promise<{ message: string; hint: string } | undefined> {
  const dir = join(outDir, PARTIAL_DIR);
  let st;
  try {
    st = await lstat(dir);
  } catch {
    return undefined;
  }
  const hint = `move it away (rtc-cli never follows or deletes what it did not create): mv ${dir} ${dir}.old`;
  if (st.isSymbolicLink()) return { message: `${dir} is a symbolic link, not rtc-cli's partial-file directory`, hint };
  if (!st.isDirectory()) return { message: `${dir} is not a directory`, hint };
  const uid = myUid();
  if (uid !== undefined && st.uid !== uid) return { message: `${dir} belongs to another user (uid ${st.uid})`, hint };
  if ((st.mode & 0o022) !== 0) return { message: `${dir} is writable by other users (mode ${(st.mode & 0o777).toString(8)})`, hint };
  return undefined;
}

export function writeError(e: unknown, what: string): RtcError {
  if (e instanceof RtcError) return e;
  return new RtcError('RTC_ERR_WRITE', `cannot write ${what}: ${(e as Error).message}`, {
    cause: e,
    hint: (e as NodeJS.ErrnoException).code === 'ENOSPC' ? 'the disk is full; free space and run again' : undefined,
  });
}

export class PartStore {
  readonly dir: string;

  constructor(readonly outDir: string) {
    this.dir = join(outDir, PARTIAL_DIR);
  }

  /** The file name of the partial for `id`: readable, bound to the identity, and at most NAME_MAX bytes. */
  static partName(id: PartIdentity): string {
    const key = createHash('sha256').update(JSON.stringify([id.target, id.size, id.sha256])).digest('hex').slice(0, KEY_HEX);
    return `${truncateUtf8(id.target, MAX_NAME_BYTES - SUFFIX_BYTES)}.${key}.part`;
  }

  private async ensureDir(): Promise<void> {
    try {
      await mkdir(this.dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError(e, this.dir);
    }
    const problem = await checkPartialDir(this.outDir);
    if (problem) throw new RtcError('RTC_ERR_WRITE', problem.message, { hint: problem.hint });
  }

  /**
   * The partial file for `id`: our existing one (offset = its length, prefix = the hash state of its bytes) when the
   * identity is fully known, else a new empty one. Throws RtcError (the receiver refuses that one file).
   */
  async claim(id: PartIdentity): Promise<PartFile> {
    await this.ensureDir();
    const path = join(this.dir, PartStore.partName(id));
    const existing = await openExisting(path);
    if (existing) {
      const size = (await existing.stat()).size;
      const resumable = id.size !== null && id.sha256 !== null && size > 0 && size <= id.size;
      if (resumable) return new PartFile(this, path, existing, size, await hashHandle(existing, size));
      await existing.truncate(0);
      return new PartFile(this, path, existing, 0, undefined);
    }
    try {
      const fh = await open(path, fsc.O_RDWR | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o644);
      return new PartFile(this, path, fh, 0, undefined);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENAMETOOLONG') {
        throw new RtcError('RTC_ERR_UNSAFE_NAME', `the name "${id.target}" is too long for this file system`, { cause: e });
      }
      throw writeError(e, path);
    }
  }

  /** Remove the partial directory if it is empty (it is ours; ENOTEMPTY and friends are fine). */
  async tidy(): Promise<void> {
    await rmdir(this.dir).catch(() => {});
  }
}

/** Open an existing partial without following a symlink, and only if it is a plain file of ours. */
async function openExisting(path: string): Promise<FileHandle | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, fsc.O_RDWR | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new RtcError('RTC_ERR_WRITE', `${path} is a symbolic link; rtc-cli never follows or removes one`, { cause: e });
    throw writeError(e, path);
  }
  const st = await fh.stat();
  const uid = myUid();
  const why = !st.isFile() ? 'is not a regular file' : st.nlink !== 1 ? 'has other hard links' : uid !== undefined && st.uid !== uid ? 'belongs to another user' : undefined;
  if (why) {
    await fh.close();
    throw new RtcError('RTC_ERR_WRITE', `${path} ${why}; rtc-cli did not create it and leaves it alone`);
  }
  return fh;
}

/**
 * Write-behind: once this many bytes were written since the last flush, start an fdatasync(2) in the background while
 * the transfer goes on. The kernel then writes the file out during the transfer instead of all of it in the final
 * fsync, which the receiver waits for before it acknowledges (64 MiB: about 45 ms at the end without it, bench/datachannel).
 */
const WRITE_BEHIND_BYTES = 8 * 1024 * 1024;

/** One open partial file. `offset`/`prefix` describe what it already holds (what the receiver offers to resume). */
export class PartFile {
  private fh: FileHandle | undefined;
  /** Bytes the file holds (its prefix plus what was written after it). */
  private length: number;
  private unflushed = 0;
  /** The background flush in flight; its error (a disk that fails) is reported by finish(). */
  private flushing: Promise<unknown> | undefined;
  private flushError: unknown;

  constructor(
    private readonly store: PartStore,
    readonly path: string,
    fh: FileHandle,
    public offset: number,
    public prefix: Hash | undefined,
  ) {
    this.fh = fh;
    this.length = offset;
  }

  /** The sender starts at `offset` (ours, or 0 when it did not take our prefix). */
  async startAt(offset: number): Promise<void> {
    if (offset === this.offset) return;
    await this.fh!.truncate(offset);
    this.offset = offset;
    this.length = offset;
    this.prefix = undefined;
  }

  /**
   * Write `bufs` back to back from `pos`: one pwritev(2) for a batch of chunks instead of one write per chunk. A short
   * write (a full disk returns one before ENOSPC) continues where it stopped, so nothing is silently skipped.
   */
  async write(bufs: Buffer[], pos: number): Promise<void> {
    const rest = bufs.filter((b) => b.length > 0);
    let at = pos;
    while (rest.length > 0) {
      const { bytesWritten } = rest.length === 1 ? await this.fh!.write(rest[0]!, 0, rest[0]!.length, at) : await this.fh!.writev(rest, at);
      if (bytesWritten <= 0) throw Object.assign(new Error('the file system accepted no bytes'), { code: 'EIO' });
      at += bytesWritten;
      let skip = bytesWritten;
      while (rest.length > 0 && skip >= rest[0]!.length) skip -= rest.shift()!.length;
      if (skip > 0) rest[0] = rest[0]!.subarray(skip);
    }
    this.length = Math.max(this.length, at);
    this.unflushed += at - pos;
    if (this.unflushed >= WRITE_BEHIND_BYTES && !this.flushing) this.flushInBackground();
  }

  private flushInBackground(): void {
    this.unflushed = 0;
    this.flushing = this.fh!.datasync()
      .catch((e: unknown) => (this.flushError ??= e))
      .finally(() => (this.flushing = undefined));
  }

  /** Flush to disk and close (before the hash verdict decides commit or discard). */
  async finish(): Promise<void> {
    await this.flushing;
    if (this.flushError) throw this.flushError;
    await this.fh!.sync();
    await this.close();
  }

  private async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await this.flushing;
    await fh?.close().catch(() => {});
  }

  /**
   * Move into place. Without `replace` the move never clobbers (link(2) fails with EEXIST if `finalPath` appeared
   * meanwhile); with it, rename(2) atomically replaces the file (or a symlink there, never its target).
   */
  async commit(finalPath: string, replace: boolean): Promise<void> {
    await this.close();
    try {
      if (replace) await rename(this.path, finalPath);
      else await moveNoClobber(this.path, finalPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new RtcError('RTC_ERR_EXISTS', `${finalPath} appeared while receiving; the data is kept in ${this.path}`, { hint: 'pass --force to overwrite' });
      }
      throw writeError(e, finalPath);
    }
    await this.store.tidy();
  }

  /** Delete it: known bad, empty, or a stream that cannot be resumed. */
  async discard(): Promise<void> {
    await this.close();
    await unlink(this.path).catch(() => {});
    await this.store.tidy();
  }

  /** Keep it for a later resume (an empty one is discarded: there is nothing to resume). */
  async keep(): Promise<void> {
    if (this.length === 0) await this.discard();
    else await this.close();
  }
}

/** Move without ever replacing an existing file: link(2) fails with EEXIST if `to` exists (atomic no-clobber). */
async function moveNoClobber(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // File systems without hard links (some FUSE/SMB mounts): check, then rename (a small race, documented).
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'ENOSYS') throw e;
    if (await lstat(to).then(() => true, () => false)) {
      throw Object.assign(new Error(`${to} exists`), { code: 'EEXIST' });
    }
    await rename(from, to);
    return;
  }
  await unlink(from);
}
